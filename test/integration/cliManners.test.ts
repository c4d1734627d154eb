// CLI manners through the built binary (dist/main.js): "did you mean" for options and commands, `help CMD`
// printing exactly `CMD --help`, a closed stdout (also as an output file: `--out /dev/stdout | head -2`) ending
// the command quietly with status 0, start-up failures naming their config key, and CSV time units
// (--time-unit, csv.time_unit, the implausible-date warning).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/ports';
import { MAIN, runCli, type CliRun, type CliOptions } from '../helpers/cli';

let dir: string;

function cli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return runCli(dir, args, opts);
}

/** Five channels at 1 Hz with epoch-seconds timestamps, the export a plant historian often gives. */
function recording(rows: number, t0Seconds: number): string {
  const lines = ['timestamp,discharge_pressure_bar,oil_temp_c,motor_current_a,vibration_mm_s,speed_rpm'];
  for (let i = 0; i < rows; i++) {
    const s = Math.sin((2 * Math.PI * i) / 30);
    lines.push([t0Seconds + i, (7 + 0.3 * s).toFixed(3), (60 + Math.cos(i / 90)).toFixed(2), (40 + 3 * s).toFixed(2), (2 + 0.2 * s).toFixed(3), (1480 + 10 * s).toFixed(1)].join(','));
  }
  return lines.join('\n') + '\n';
}

const T0_S = Date.UTC(2026, 0, 1) / 1000;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-manners-'));
  await writeFile(path.join(dir, 'seconds.csv'), recording(1200, T0_S));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('an unknown option names the nearest known one and exits 2 with the usage', async () => {
  const r = await cli(['replay', '--model', 'm', '--inptu', 'x.csv']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^anomalyd replay: Unknown option '--inptu'; did you mean --input\?\n\nUsage: anomalyd replay/);
  const v = await cli(['validate', '--confg', 'x.yaml']);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /Unknown option '--confg'; did you mean --config\?/);
  const c = await cli(['trian']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /unknown command 'trian'; did you mean 'train'\?/);
});

test('`anomalyd help CMD` prints exactly what `CMD --help` prints', async () => {
  // Every command the top-level help lists (a new one is covered without editing this test), and a subcommand.
  const listed = (await cli(['help'])).stdout.split('\n').flatMap((l) => /^ {2}([a-z]+) {2,}\S/.exec(l)?.[1] ?? []);
  for (const known of ['run', 'init', 'train', 'calibrate', 'replay', 'evaluate', 'models']) assert.ok(listed.includes(known), `help lists ${known}: ${listed.join(', ')}`);
  const commands = [...listed.map((c) => [c]), ['evaluate', 'ucr']];
  const runs = await Promise.all(commands.map((cmd) => Promise.all([cli(['help', ...cmd]), cli([...cmd, '--help'])])));
  for (const [i, cmd] of commands.entries()) {
    const [viaHelp, viaFlag] = runs[i];
    assert.equal(viaHelp.code, 0, `help ${cmd.join(' ')}: ${viaHelp.stderr}`);
    assert.equal(viaFlag.code, 0);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: anomalyd ${cmd[0]}`));
    assert.equal(viaHelp.stdout, viaFlag.stdout, cmd.join(' '));
  }
  const top = await cli(['help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage: anomalyd <command>/);
  assert.match(top.stdout, /\n {2}init {9}write a starter config/);
});

test('a closed stdout ends the command quietly with status 0', async () => {
  for (const args of [['init', '--csv', 'seconds.csv'], ['train', '--help']]) {
    const r = await cli(args, { closeStdout: true });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, 'no error and no stack trace');
  }
});

test('start-up failures name the config key: http.port in use, the embedded broker port in use, state_dir not a directory, a TLS file', async () => {
  const busy: Server = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const busyPort = (busy.address() as { port: number }).port;
  try {
    const config = (o: { http: number; mqtt: number; broker: 'on' | 'off'; state: string }): string =>
      `http: { port: ${o.http} }\nstate_dir: ${o.state}\nmqtt: { url: "mqtt://127.0.0.1:${o.mqtt}", embedded_broker: ${o.broker} }\n`;
    await writeFile(path.join(dir, 'http-busy.yaml'), config({ http: busyPort, mqtt: await freePort(), broker: 'off', state: './var-a' }));
    let r = await cli(['run', '-c', 'http-busy.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`http\\.port ${busyPort} is in use on 127\\.0\\.0\\.1`));

    await writeFile(path.join(dir, 'broker-busy.yaml'), config({ http: await freePort(), mqtt: busyPort, broker: 'on', state: './var-b' }));
    r = await cli(['run', '-c', 'broker-busy.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`mqtt\\.url port ${busyPort} is in use on 127\\.0\\.0\\.1.*mqtt\\.embedded_broker is on`));

    await writeFile(path.join(dir, 'a-file'), 'not a directory\n');
    await writeFile(path.join(dir, 'state-file.yaml'), config({ http: await freePort(), mqtt: await freePort(), broker: 'off', state: './a-file/var' }));
    r = await cli(['run', '-c', 'state-file.yaml']);
    assert.equal(r.code, 1);
    // The path as the config holds it (relative, or resolved against the config file's directory).
    assert.match(r.stderr, /state_dir \S*a-file\/var is not a directory/);

    await writeFile(
      path.join(dir, 'tls.yaml'),
      `http: { port: ${await freePort()} }\nstate_dir: ./var-tls\nmqtt: { url: "mqtts://127.0.0.1:${await freePort()}", embedded_broker: off, tls: { ca_file: ./no-ca.pem } }\n`,
    );
    r = await cli(['run', '-c', 'tls.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mqtt\.tls\.ca_file: cannot read the MQTT TLS file '[^']*no-ca\.pem'/);
  } finally {
    busy.close();
  }
});

test('CSV times: epoch seconds read as ms warn (stderr and --json warnings); --time-unit s or csv.time_unit: s read them right', async () => {
  await writeFile(
    path.join(dir, 'train.yaml'),
    `defaults:
  window: { size: 20, hop: 5 }
  training: { encoder_units: [16], latent_units: 4, epochs: 3, patience: 0 }
  calibration: { method: percentile }
subscriptions:
  - topic: plant/c1
    stream: c1
    decoder: json
    channels: [discharge_pressure_bar, oil_temp_c, motor_current_a, vibration_mm_s, speed_rpm]
`,
  );
  const train = ['train', '-c', 'train.yaml', '--stream', 'c1', '--input', 'seconds.csv', '--no-report', '--json'];
  let r = await cli([...train, '--out', 'm1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Warning: seconds\.csv: column "timestamp": numeric times read as epoch milliseconds span 1970-01-21T.*give --time-unit s/);
  const out = JSON.parse(r.stdout) as { warnings: string[] };
  assert.equal(out.warnings.filter((w) => /--time-unit s/.test(w)).length, 1);

  r = await cli([...train, '--out', 'm2', '--time-unit', 's']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning: .*time/);
  assert.deepEqual((JSON.parse(r.stdout) as { warnings: string[] }).warnings.filter((w) => /time/.test(w)), []);

  await writeFile(path.join(dir, 'train-s.yaml'), `csv: { time_unit: s }\n${await readFile(path.join(dir, 'train.yaml'), 'utf8')}`);
  r = await cli(['replay', '-c', 'train-s.yaml', '--model', 'm2', '--input', 'seconds.csv', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning: .*time/);
  const replay = JSON.parse(r.stdout) as { warnings: string[]; windows: number };
  assert.deepEqual(replay.warnings.filter((w) => /time/.test(w)), []);
  assert.equal(replay.windows, (1200 - 20) / 5 + 1);

  r = await cli(['replay', '--model', 'm2', '--input', 'seconds.csv', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { warnings: string[] }).warnings.some((w) => /look like epoch seconds/.test(w)));

  r = await cli(['calibrate', '--model', 'm2', '--input', 'seconds.csv', '--method', 'percentile', '--target', '99.5', '--time-unit', 'ms', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Warning: .*--time-unit s/, 'an explicit wrong unit still gets the warning');

  // `anomalyd replay ... | head -0`: the reader is gone before the summary is written.
  r = await cli(['replay', '--model', 'm2', '--input', 'seconds.csv', '--time-unit', 's'], { closeStdout: true });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
  // `anomalyd replay ... --out /dev/stdout | head -2`: the output file is the pipe, and its reader stops after two
  // lines of a CSV far larger than a pipe's buffer.
  await writeFile(path.join(dir, 'long.csv'), recording(20_000, T0_S));
  for (const out of ['--out', '--denoised-out']) {
    const command = `"${process.execPath}" "${MAIN}" replay --model m2 --input long.csv --time-unit s ${out} /dev/stdout | head -2`;
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(piped.status, 0, `${out} /dev/stdout | head -2: ${piped.stderr}`);
    assert.doesNotMatch(piped.stderr, /EPIPE|internal error|\n\s+at /, `${out} /dev/stdout | head -2`);
    assert.equal(piped.stdout.split('\n').length, 3, `two lines and the end: ${piped.stdout}`);
  }

  r = await cli(['replay', '--model', 'm2', '--input', 'seconds.csv', '--time-unit', 'sec']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--time-unit must be one of s, ms, us, ns \(got 'sec'\)/);
});
