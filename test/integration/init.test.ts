// `anomalyd init` through the built binary: what it infers from a recording (--json), that what it writes
// validates, that it refuses to overwrite, and its refusals of a header or a model it cannot use.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, runCli, type CliRun } from '../helpers/cli';

let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

/** rows at `periodMs`, times written by `time` (epoch ms in, text out). */
function csv(rows: number, periodMs: number, time: (ms: number) => string, header = 'timestamp,flow_m3h,temp_c'): string {
  const t0 = Date.UTC(2026, 2, 1);
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(`${time(t0 + i * periodMs)},${(10 + Math.sin(i / 7)).toFixed(3)},${(40 + (i % 11) / 10).toFixed(2)}`);
  return lines.join('\n') + '\n';
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-init-'));
  await writeFile(path.join(dir, 'ms.csv'), csv(20_000, 100, String));
  await writeFile(path.join(dir, 'us.csv'), csv(2000, 5000, (ms) => String(ms * 1000)));
  await writeFile(path.join(dir, 'iso.csv'), csv(1000, 2000, (ms) => new Date(ms).toISOString()));
  await writeFile(path.join(dir, 'bad-header.csv'), csv(10, 1000, String, 'timestamp,flow (m3/h),temp_c'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Summary {
  config: string;
  stream: string;
  channels: string[];
  time_unit: string | null;
  sample_period_ms: number | null;
  window: { size: number; hop: number };
  training_windows: number;
  model: unknown;
  warnings: string[];
}

test('infers period, unit and window; the written config validates; an existing file is kept without --force', async () => {
  const [ms, us, iso] = await Promise.all([
    cli('init', '--csv', 'ms.csv', '-o', 'ms.yaml', '--json'),
    cli('init', '--csv', 'us.csv', '--stream', 'hall2/pump7', '-o', 'us.yaml', '--json'),
    cli('init', '--csv', 'iso.csv', '-o', 'iso.yaml', '--json'),
  ]);
  for (const r of [ms, us, iso]) assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(ms.stdout) as Summary;
  assert.equal(a.stream, 'line1/ms');
  assert.deepEqual(a.channels, ['flow_m3h', 'temp_c']);
  assert.equal(a.time_unit, 'ms');
  assert.equal(a.sample_period_ms, 100);
  assert.deepEqual(a.window, { size: 128, hop: 32 }, '10 Hz: a minute is 600 samples, capped at 128');
  assert.equal(a.model, 'auto');
  assert.deepEqual(a.warnings, []);
  const b = JSON.parse(us.stdout) as Summary;
  assert.equal(b.stream, 'hall2/pump7');
  assert.equal(b.time_unit, 'us', 'epoch microseconds recognised by their magnitude');
  assert.equal(b.sample_period_ms, 5000);
  assert.deepEqual(b.window, { size: 16, hop: 4 }, 'a sample every 5 s: 12 samples to the minute, raised to 16');
  const c = JSON.parse(iso.stdout) as Summary;
  assert.equal(c.time_unit, 'iso');
  assert.equal(c.sample_period_ms, 2000);

  const usYaml = await readFile(path.join(dir, 'us.yaml'), 'utf8');
  assert.match(usYaml, /^csv:\n(?: {2}#.*\n)+ {2}time_unit: us$/m);
  assert.match(usYaml, /^ {2}- topic: plant\/hall2\/pump7\/telemetry$/m);
  assert.doesNotMatch(await readFile(path.join(dir, 'iso.yaml'), 'utf8'), /^csv:/m, 'ISO times need no unit');

  const validated = await Promise.all(['ms.yaml', 'us.yaml', 'iso.yaml'].map((f) => cli('validate', '-c', f)));
  for (const v of validated) assert.equal(v.code, 0, v.stderr);

  const again = await cli('init', '--csv', 'ms.csv', '-o', 'ms.yaml');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /ms\.yaml exists; give --force to overwrite it/);
  const forced = await cli('init', '--csv', 'iso.csv', '-o', 'ms.yaml', '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(await readFile(path.join(dir, 'ms.yaml'), 'utf8'), /from iso\.csv/);
});

test('refusals: a header that cannot name channels, a model with other channels, --json without -o', async () => {
  await mkdir(path.join(dir, 'other-model'), { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'models', 'pump', 'manifest.json'), 'utf8')) as unknown;
  await writeFile(path.join(dir, 'other-model', 'manifest.json'), JSON.stringify(manifest));
  const [header, model, json] = await Promise.all([
    cli('init', '--csv', 'bad-header.csv'),
    cli('init', '--csv', 'ms.csv', '--model', 'other-model', '-o', 'bound.yaml'),
    cli('init', '--csv', 'ms.csv', '--json'),
  ]);
  assert.equal(header.code, 1);
  assert.match(header.stderr, /bad-header\.csv: column name\(s\) "flow \(m3\/h\)" cannot be channel names .*-> flow_m3_h/);
  assert.equal(model.code, 1);
  assert.match(model.stderr, /--model other-model: the model's channels \[vib_x_rms, .*\] differ from the recording's \[flow_m3h, temp_c\]/);
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--json needs -o FILE/);
});

test('without -o the config goes to stdout, and a short recording is written with a warning', async () => {
  await writeFile(path.join(dir, 'short.csv'), csv(100, 1000, String));
  const r = await cli('init', '--csv', 'short.csv');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# yaml-language-server: \$schema=.*config\/schema\.json\n/);
  assert.match(r.stdout, /\n {4}channels: \[flow_m3h, temp_c\]\n/);
  assert.match(r.stderr, /Warning: short\.csv: 100 rows give \d+ window\(s\) of 16 samples \(hop 4\); training wants at least 200/);
});
