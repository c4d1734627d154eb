// A mode's own model with a rhythm, on a stream whose own model has none, against the real daemon (Mosquitto,
// InfluxDB): the windows of the `high` duty point are scored by `pump_beat`, trained here with `training.rhythm`,
// and must carry the prematurity of pump_beat's own tracker, started afresh at the mode change. `replay` of the
// same samples from that change on, with pump_beat as the stream's only model, gives the scores the daemon must
// write; a daemon that left the stream's window without a tracker (the stream's model has none) would score
// those windows without the rhythm's factor.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS, pumpPayload } from '../../src/simulator/signals';
import { runCli } from '../helpers/cli';
import { faultSuite, pollUntil, publishAll, PUMP_MODEL, pumpSeries, simAssets, topicOf } from '../helpers/faults';

const suite = faultSuite('modesrhythm', { influx: true });
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const FLOW = PUMP_CHANNELS.indexOf('flow_m3h');
const WINDOW = 'window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }';
/** Events on the x vibration's rises, cycles of a few seconds: its noise gives an irregular rhythm, enough to join. */
const RHYTHM = 'rhythm: { enabled: true, channel: vib_x_rms, slope_samples: 1, smoothing_samples: 2, threshold_fraction: 0.3, peak_half_life_ms: 10000, refractory_ms: 2500, history_events: 8, exponent: 2 }';
/** The mode change: the third sample of the high level (hold_samples 3), and the return to normal. */
const HIGH_FROM = 152;
const HIGH_UNTIL = 452;

function highDuty(s: Sample): Sample {
  const v = Float32Array.from(s.values);
  v[FLOW] = v[FLOW] * 2;
  return { ts: s.ts, values: v };
}

/** The CSV of exactly what the payloads carry. */
function csvOf(payloads: readonly string[]): string {
  const lines = [['timestamp', ...PUMP_CHANNELS].join(',')];
  for (const p of payloads) {
    const doc = JSON.parse(p) as Record<string, number>;
    lines.push([new Date(doc['ts'] ?? NaN).toISOString(), ...PUMP_CHANNELS.map((c) => String(doc[c]))].join(','));
  }
  return lines.join('\n') + '\n';
}

function subscription(model: string, modes: string): string {
  return `subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: ${model}
    channels: [${PUMP_CHANNELS.join(', ')}]
${modes}`;
}

const MODES = '    modes: { when: { high: "flow_m3h > 126" }, default: normal, hold_samples: 3, models: { high: pump_beat } }\n';

test("a mode's model with a rhythm scores the windows of its own tracker on a stream whose model has none", async () => {
  const { dir } = suite;
  const seed = simAssets('pump', 1, 1, 1)[0].seed;
  const beatDir = path.join(dir, 'pump_beat');
  await writeFile(path.join(dir, 'train.yaml'), `models: { pump: { path: ${PUMP_MODEL} } }\ndefaults:\n  ${WINDOW}\n  training: { epochs: 20, seed: 7, ${RHYTHM} }\n${subscription('pump', MODES.replace(', models: { high: pump_beat }', ''))}`);
  const recording = pumpSeries(seed, T0 - 1_800_000, 3600).map((s, i) => (i >= 200 ? highDuty(s) : s));
  await writeFile(path.join(dir, 'both.csv'), csvOf(recording.map((s) => pumpPayload(s))));
  const trained = await runCli(dir, ['train', '-c', 'train.yaml', '--stream', 'line1/pump1', '--input', 'both.csv', '--out', beatDir, '--mode', 'high', '--no-report', '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const manifest = JSON.parse(await readFile(path.join(beatDir, 'manifest.json'), 'utf8')) as { rhythm?: { channel: string } };
  assert.equal(manifest.rhythm?.channel, 'vib_x_rms', 'pump_beat joins the rhythm; the bundled pump model does not');

  const d = await suite.daemonFrom(
    'modesrhythm',
    (at) => `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-modesrhythm-${path.basename(at.stateDir)}, embedded_broker: off }
models: { pump: { path: ${PUMP_MODEL} }, pump_beat: { path: ${beatDir} } }
defaults:
  ${WINDOW}
${subscription('pump', MODES)}sinks:
  console: { enabled: false }
  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }
`,
  );
  await d.ready();
  const payloads = pumpSeries(seed, T0, 600)
    .map((s, i) => (i >= 150 && i < 450 ? highDuty(s) : s))
    .map((s) => pumpPayload(s));
  const pub = await suite.publisher('modesrhythm-publisher');
  await publishAll(pub, payloads.map((payload) => ({ topic: topicOf('pump1'), payload })), 50);
  // 13 + 28 + 12 windows (every change starts a fresh window of 30).
  await pollUntil('every window scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= 53, 30_000);
  await d.drained();
  const rows = async (q: string): Promise<Record<string, unknown>[]> =>
    (await suite.influx.query(q, 'anomalyd')).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
  const live = await pollUntil('the high windows in InfluxDB', () => rows(`SELECT score FROM anomaly_score WHERE "stream" = 'line1/pump1' AND "model" = 'pump_beat'`), (r) => r.length === 28, 10_000);

  // The samples the high mode's window saw, replayed with pump_beat as the stream's one model.
  await writeFile(path.join(dir, 'high.csv'), csvOf(payloads.slice(HIGH_FROM, HIGH_UNTIL)));
  await writeFile(path.join(dir, 'replay.yaml'), `models: { pump_beat: { path: ${beatDir} } }\ndefaults:\n  ${WINDOW}\n${subscription('pump_beat', '')}`);
  const replayed = await runCli(dir, ['replay', '-c', 'replay.yaml', '--stream', 'line1/pump1', '--input', 'high.csv', '--out', 'high-scores.csv', '--json']);
  assert.equal(replayed.code, 0, replayed.stderr);
  const [header, ...lines] = (await readFile(path.join(dir, 'high-scores.csv'), 'utf8')).trim().split('\n');
  const col = (name: string): number => (header ?? '').split(',').indexOf(name);
  const expected = lines.map((l) => l.split(',')).map((f) => [Date.parse(f[col('window_end')] ?? ''), Number(f[col('score')])] as const);
  assert.equal(expected.length, 28);
  // replay's CSV keeps 8 significant digits.
  const got = live.map((r) => [Number(r['time']), Number(r['score'])] as const);
  for (const [i, [end, score]] of expected.entries()) {
    assert.equal(got[i]?.[0], end, `window ${i} ends where replay's does`);
    assert.ok(Math.abs((got[i]?.[1] ?? NaN) - score) <= 1e-6 * Math.abs(score), `window ${i} ending ${new Date(end).toISOString()}: daemon ${got[i]?.[1]}, replay ${score}`);
  }
});
