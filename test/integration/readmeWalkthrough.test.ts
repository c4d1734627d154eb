// The README's "Your first model" walkthrough, run verbatim: every ```sh block preceded by
// `<!-- walkthrough -->` is taken from README.md as written and its commands run in order in a temporary
// directory holding a generated compressor.csv, with `anomalyd` on PATH as a shim for the built dist/main.js.
// `anomalyd run` runs in the background until /readyz answers 200; the block marked
// `<!-- walkthrough: while run -->` (the README's mosquitto_pub sample) is then sent to the daemon's broker
// (with `-h 127.0.0.1 -p PORT` added: the test's broker is on a free port) and the stream must show the sample;
// then the daemon gets SIGTERM and must exit 0. Step 2's replay must print what a replay with the final, bound
// config prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createRng, gaussian } from '../../src/core/random';
import { ensurePackage } from '../helpers/ensurePackage';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const MARKER = '<!-- walkthrough -->';
let dir: string;
let env: NodeJS.ProcessEnv;
let httpPort: number;
let mqttPort: number;

/** The commands of the marked blocks, in README order; `\` continuations joined, comments and blanks dropped. */
export function walkthroughCommands(readme: string, marker = MARKER): string[] {
  const blocks = [...readme.matchAll(new RegExp(`${marker}\\s*\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
  return blocks.flatMap((b) =>
    b
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

/** Five channels at 1 Hz, epoch-seconds timestamps as in the README's example, a 30 s load cycle. */
function compressorCsv(rows: number): string {
  const rng = createRng(12);
  const t0 = Date.UTC(2026, 0, 1) / 1000;
  const lines = ['timestamp,discharge_pressure_bar,oil_temp_c,motor_current_a,vibration_mm_s,speed_rpm'];
  for (let i = 0; i < rows; i++) {
    const load = Math.sin((2 * Math.PI * i) / 30);
    const n = (): number => 0.02 * gaussian(rng);
    lines.push(
      [t0 + i, 7 + 0.3 * load + n(), 60 + Math.cos(i / 300) + n(), 40 + 3 * load + n(), 2 + 0.2 * load + n(), 1480 + 10 * load + 10 * n()]
        .map((v, c) => (c === 0 ? String(v) : v.toFixed(3)))
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

interface Step {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(command: string): Promise<Step> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the daemon command, waits for /readyz 200 (or its early exit), runs `whileReady`, stops it with SIGTERM. */
async function runUntilReady(command: string, whileReady: () => Promise<void>): Promise<Step & { ready: boolean }> {
  // exec: the signal goes to anomalyd itself, not to a shell around it.
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd: dir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let ready = false;
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 30_000;
  while (!ready && !done && Date.now() < deadline) {
    ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  try {
    if (ready) await whileReady();
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exited;
  return { code, stdout, stderr, ready };
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-walkthrough-'));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  const shim = path.join(bin, 'anomalyd');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
  await chmod(shim, 0o755);
  await writeFile(path.join(dir, 'compressor.csv'), compressorCsv(3000));
  httpPort = await freePort();
  mqttPort = await freePort();
  ensurePackage('/usr/bin/mosquitto_pub', 'mosquitto-clients');
  // The starter config reads HTTP_PORT and MQTT_URL (defaults 9464 and 127.0.0.1:1883): free ports here, so the
  // embedded broker starts on one nobody else uses.
  env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}`, HTTP_PORT: String(httpPort), MQTT_URL: `mqtt://127.0.0.1:${mqttPort}` };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the README walkthrough runs verbatim: init, validate, train, replay, init --model, validate, run', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const commands = walkthroughCommands(readme);
  assert.ok(readme.split(MARKER).length - 1 >= 4, 'the README marks the walkthrough blocks');
  assert.ok(commands.length >= 6, `walkthrough commands found: ${JSON.stringify(commands)}`);
  for (const word of ['init', 'validate', 'train', 'replay', 'run']) {
    assert.ok(commands.some((c) => c.startsWith(`anomalyd ${word} `)), `the walkthrough has an 'anomalyd ${word}' step`);
  }
  const whileRun = walkthroughCommands(readme, '<!-- walkthrough: while run -->');
  assert.ok(whileRun.length === 1 && whileRun[0].startsWith('mosquitto_pub '), `the sample to send: ${JSON.stringify(whileRun)}`);
  const sendSample = async (): Promise<void> => {
    const sent = await sh(`${whileRun[0]} -h 127.0.0.1 -p ${mqttPort}`);
    assert.equal(sent.code, 0, `${whileRun[0]}\n${sent.stderr}`);
    const deadline = Date.now() + 10_000;
    let stream: { stream: string; window?: { samples: number } } | undefined;
    while (Date.now() < deadline) {
      const body = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/streams`)).json()) as { streams: { stream: string; window?: { samples: number } }[] };
      stream = body.streams.find((s) => s.stream === 'line1/compressor1');
      if (stream) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(stream?.window?.samples, 1, `the README's sample reached the stream: ${JSON.stringify(stream)}`);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.doesNotMatch(metrics, /^anomalyd_messages_rejected_total\{[^}]*\} [1-9]/m, 'nothing rejected');
  };
  let step2Replay: string | undefined;
  for (const command of commands) {
    if (/^anomalyd run\b/.test(command)) {
      const r = await runUntilReady(command, sendSample);
      assert.ok(r.ready, `${command}: /readyz never answered 200\n${r.stderr}`);
      assert.equal(r.code, 0, `${command} after SIGTERM\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, / ERROR /, `${command}: no error-level line`);
      continue;
    }
    const r = await sh(command);
    assert.equal(r.code, 0, `${command}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Warning: .*time/, `${command}: the time unit was inferred, nothing to warn about`);
    if (/^anomalyd validate\b/.test(command)) assert.match(r.stdout, /^OK: /);
    if (/^anomalyd train\b/.test(command)) {
      const out = /--out (\S+)/.exec(command)?.[1] ?? '';
      assert.ok(existsSync(path.join(dir, out, 'manifest.json')), `${command} wrote ${out}/manifest.json`);
    }
    if (/^anomalyd replay\b/.test(command)) {
      assert.match(r.stdout, /window/, `${command} printed its summary`);
      step2Replay ??= r.stdout;
    }
  }
  const config = await readFile(path.join(dir, 'compressor.yaml'), 'utf8');
  assert.match(config, /^ {4}model: compressor1$/m, 'the final config binds the stream to the trained model');
  assert.match(config, /^ {2}time_unit: s$/m, 'epoch seconds were recognised');
  // Step 2 replayed the trained model with the starter config (model: auto), and showed what the daemon does
  // once the stream is bound to it: the same as a replay with the bound config.
  const bound = await sh('anomalyd replay -c compressor.yaml --stream line1/compressor1 --input compressor.csv');
  assert.equal(bound.code, 0, bound.stderr);
  assert.equal(step2Replay, bound.stdout);
});

test('the extraction takes only marked sh blocks and joins continued lines', () => {
  const text = ['```sh\nnot me\n```', MARKER, '```sh\n# comment\na \\\n  b\n\nc\n```', MARKER, '```text\nnor me\n```'].join('\n');
  assert.deepEqual(walkthroughCommands(text), ['a b', 'c']);
});
