// The README's "Your first model" walkthrough, run verbatim: every ```sh block preceded by
// `<!-- walkthrough -->` is taken from README.md as written and its commands run in order in a temporary
// directory holding a generated compressor.csv, with `anomalyd` on PATH as a shim for the built dist/main.js.
// `anomalyd run` runs in the background until /readyz answers 200, then gets SIGTERM and must exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createRng, gaussian } from '../../src/core/random';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const MARKER = '<!-- walkthrough -->';
let dir: string;
let env: NodeJS.ProcessEnv;
let httpPort: number;

/** The commands of the marked blocks, in README order; `\` continuations joined, comments and blanks dropped. */
export function walkthroughCommands(readme: string): string[] {
  const blocks = [...readme.matchAll(/<!-- walkthrough -->\s*\n```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
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

/** Starts the daemon command, waits for /readyz 200 (or its early exit), stops it with SIGTERM. */
async function runUntilReady(command: string): Promise<Step & { ready: boolean }> {
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
  child.kill('SIGTERM');
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
  // The starter config reads HTTP_PORT and MQTT_URL (defaults 9464 and 127.0.0.1:1883): free ports here, so the
  // embedded broker starts on one nobody else uses.
  env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}`, HTTP_PORT: String(httpPort), MQTT_URL: `mqtt://127.0.0.1:${await freePort()}` };
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
  for (const command of commands) {
    if (/^anomalyd run\b/.test(command)) {
      const r = await runUntilReady(command);
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
    if (/^anomalyd replay\b/.test(command)) assert.match(r.stdout, /window/, `${command} printed its summary`);
  }
  const config = await readFile(path.join(dir, 'compressor.yaml'), 'utf8');
  assert.match(config, /^ {4}model: compressor1$/m, 'the final config binds the stream to the trained model');
  assert.match(config, /^ {2}time_unit: s$/m, 'epoch seconds were recognised');
});

test('the extraction takes only marked sh blocks and joins continued lines', () => {
  const text = ['```sh\nnot me\n```', MARKER, '```sh\n# comment\na \\\n  b\n\nc\n```', MARKER, '```text\nnor me\n```'].join('\n');
  assert.deepEqual(walkthroughCommands(text), ['a b', 'c']);
});
