// Training and calibrating from the plant's history in a real InfluxDB (issue 6): `train --influx-query` reads
// the stream's channels (aliased from the plant's own field names), leaves out the windows that overlap the
// stream's alerts in the daemon's `anomaly_alert` measurement (a resolved one and one still firing), and ignores
// other streams' alerts. The window counts in --json are checked against the grid worked out by hand below.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createRng, gaussian } from '../../src/core/random';
import { runCli, type CliRun } from '../helpers/cli';
import { Influxd } from '../helpers/influxd';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ROWS = 1200;

let dir: string;
let influx: Influxd;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

const config = (influxUrl: string | undefined): string => `
defaults:
  window: { size: 20, hop: 5, max_gap_ms: 5000, min_completeness: 0.9 }
  training: { encoder_units: [16], latent_units: 4, epochs: 8, batch_size: 32, learning_rate: 0.005, patience: 0, seed: 3 }
  calibration: { method: percentile, percentile: 99.5 }
  alerting: { k: 2, n: 3, reset_windows: 2 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    channels: [vib_rms, current_a]
${influxUrl ? `sinks:\n  influx: { url: ${influxUrl} }\n` : ''}`;

/** The plant's history: fields `vib` and `cur` of two pumps at 1 Hz; pump1 has a fault while its alert fired. */
function history(): string {
  const lines: string[] = [];
  for (const [asset, seed] of [['pump1', 1], ['pump2', 2]] as const) {
    const rng = createRng(seed);
    for (let r = 0; r < ROWS; r++) {
      const fault = asset === 'pump1' && r >= 600 && r < 690 ? 4 : 0;
      const vib = 2 + Math.sin((2 * Math.PI * r) / 20) + 0.05 * gaussian(rng) + fault;
      const cur = 10 + 2 * Math.cos((2 * Math.PI * r) / 20) + 0.05 * gaussian(rng);
      // A missing current reading now and then: a null cell, i.e. a missing value, as an empty CSV cell.
      const fields = r % 97 === 5 ? `vib=${vib.toFixed(4)}` : `vib=${vib.toFixed(4)},cur=${cur.toFixed(4)}`;
      lines.push(`pumps,asset=${asset} ${fields} ${T0 + r * 1000}`);
    }
  }
  return lines.join('\n');
}

/** What the daemon wrote: pump1 fired at 600 s and resolved at 700 s, fired again at 1100 s (still firing); pump2 at 100-200 s. */
function alerts(): string {
  const point = (stream: string, state: string, s: number, fp: string): string =>
    `anomaly_alert,stream=${stream},model=pump,severity=warning state="${state}",score=1,top_channels="vib_rms:0.90",fingerprint="${fp}",sequence=1i,kind="anomaly" ${T0 + s * 1000}`;
  return [
    point('line1/pump1', 'firing', 600, 'fp1'),
    point('line1/pump1', 'resolved', 700, 'fp1'),
    point('line1/pump1', 'firing', 1100, 'fp1'),
    point('line1/pump2', 'firing', 100, 'fp2'),
    point('line1/pump2', 'resolved', 200, 'fp2'),
  ].join('\n');
}

// Windows (size 20, hop 5) end at sample 19 + 5j, j = 0..236: 237 windows. An alert period starts
// (n - 1) * hop + size - 1 = 2 * 5 + 19 = 29 samples before it fired. [571, 700]: windows with end >= 571 and
// start = end - 19 <= 700, j = 111..140, 30 windows. [1071, open): j = 211..236, 26 windows.
const ALL = 237;
const EXCLUDED = 30 + 26;
const QUERY = `SELECT "vib" AS "vib_rms", "cur" AS "current_a" FROM "pumps" WHERE "asset" = 'pump1' AND time >= '2026-01-01T00:00:00Z'`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-train-influx-'));
  influx = await Influxd.start();
  for (const db of ['plant', 'anomalyd']) await influx.query(`CREATE DATABASE ${db}`);
  for (const [db, lines] of [['plant', history()], ['anomalyd', alerts()]] as const) {
    const w = await influx.writeLines(db, lines);
    assert.equal(w.status, 204, w.body);
  }
  await writeFile(path.join(dir, 'config.yaml'), config(`${influx.url}/anomalyd`));
  await writeFile(path.join(dir, 'no-sink.yaml'), config(undefined));
});

after(async () => {
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('train --influx-query leaves out the windows of the stream\'s alert periods', async () => {
  const r = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--influx-url', `${influx.url}/plant`, '--out', 'model', '--no-report', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out['source'], 'influx');
  assert.equal(out['samples'], ROWS);
  assert.equal(out['alert_periods'], 2, 'two periods of pump1; pump2\'s alert is not its business');
  assert.equal(out['excluded_windows'], EXCLUDED);
  assert.equal(out['windows'], ALL - EXCLUDED);
  assert.equal(out['insufficient_windows'], 0);
  assert.ok(existsSync(path.join(dir, 'model', 'manifest.json')));
  assert.match(r.stderr, /left out 56 window\(s\) overlapping 2 alert and maintenance period\(s\) of 'line1\/pump1' \(alerts from database 'anomalyd'\)\n/);
});

test('without alerts to read (no sinks.influx: alerts looked up in the queried database) every window is used', async () => {
  const r = await cli('train', '-c', 'no-sink.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--influx-url', `${influx.url}/plant`, '--out', 'model-all', '--no-report', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out['alert_periods'], 0);
  assert.equal(out['excluded_windows'], 0);
  assert.equal(out['windows'], ALL);
});

test('calibrate --influx-query recalibrates on the same history without the alert periods', async () => {
  const r = await cli('calibrate', '--model', 'model', '-c', 'config.yaml', '--influx-query', QUERY, '--influx-url', `${influx.url}/plant`, '--method', 'percentile', '--target', '99', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out['source'], 'influx');
  assert.equal(out['excluded_windows'], EXCLUDED);
  assert.equal(out['windows'], ALL - EXCLUDED);
  assert.ok((out['exceed_fraction'] as number) <= 0.02);
});

test('bad queries, missing columns and unreachable servers are clear errors (exit 1), usage mistakes exit 2', async () => {
  const noColumn = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', `SELECT "vib" AS "vib_rms" FROM "pumps" WHERE "asset" = 'pump1'`, '--influx-url', `${influx.url}/plant`, '--out', 'x', '--json');
  assert.equal(noColumn.code, 1);
  assert.match(noColumn.stderr, /has no column "current_a" \(it has "vib_rms"\).*AS "current_a"/);
  const syntax = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', 'SELEKT nothing', '--influx-url', `${influx.url}/plant`, '--out', 'x');
  assert.equal(syntax.code, 1);
  assert.match(syntax.stderr, /--influx-query: InfluxDB at http:\/\/127\.0\.0\.1:\d+ \(HTTP 400\): error parsing query/);
  const empty = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', `SELECT "vib" AS "vib_rms", "cur" AS "current_a" FROM "pumps" WHERE "asset" = 'nope'`, '--influx-url', `${influx.url}/plant`, '--out', 'x');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /the query returned no rows/);
  const down = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--influx-url', 'http://127.0.0.1:9/plant', '--out', 'x');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /--influx-query: InfluxDB at http:\/\/127\.0\.0\.1:9.*ECONNREFUSED/);
  const both = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--input', 'a.csv', '--out', 'x');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --input or --influx-query, not both/);
  const noServer = await cli('train', '-c', 'no-sink.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--out', 'x');
  assert.equal(noServer.code, 1);
  assert.match(noServer.stderr, /give --influx-url .* or configure sinks\.influx/);
});

// Last: it adds the operator's label and a maintenance window to the daemon's database. pump1's first alert
// (600-700 s) labelled false_positive becomes training data again (its 30 windows come back); a maintenance
// window of line1/* open 250-300 s (closed then; planned until 320 s) leaves out the windows overlapping it:
// end >= 250 and end - 19 <= 300, j = 47..60, 14 windows. A window of line2 changes nothing.
test('train --influx-query takes a false positive back as training data and leaves maintenance windows out', async () => {
  const lines = [
    `anomaly_feedback,stream=line1/pump1,fingerprint=fp1 label="false_positive",note="valve test",who="admin",kind="anomaly",ends_at=${T0 + 700_000} ${T0 + 600_000}`,
    `anomaly_maintenance,window=swap state="open",reason="valve swap",origin="api",streams="line1/*",labels="",end=${T0 + 320_000} ${T0 + 250_000}`,
    `anomaly_maintenance,window=swap state="closed",reason="valve swap",origin="api",streams="line1/*",labels="" ${T0 + 300_000}`,
    `anomaly_maintenance,window=other state="open",reason="line 2",origin="api",streams="line2/*",labels="",end=${T0 + 900_000} ${T0 + 800_000}`,
  ].join('\n');
  const w = await influx.writeLines('anomalyd', lines);
  assert.equal(w.status, 204, w.body);
  const r = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--influx-query', QUERY, '--influx-url', `${influx.url}/plant`, '--out', 'model-fb', '--no-report', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out['alert_periods'], 2, 'the open alert and the maintenance window');
  assert.equal(out['excluded_windows'], 26 + 14);
  assert.equal(out['windows'], ALL - 26 - 14);
  assert.match(r.stderr, /1 alert\(s\) labelled false_positive kept as training data/);
});

