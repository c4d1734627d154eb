// Operating modes against the real daemon, Mosquitto, InfluxDB and a webhook receiver.
// - A pump switching between two duty points: with a model per mode (the `high` one trained here with
//   `train --mode high` from a recording that holds both duty points) it raises nothing; the same switch on a
//   stream with one model pages. The mode changes reach InfluxDB (anomaly_mode) and /metrics.
// - While the machine is off, by a channel condition or by a mode topic, nothing is scored or paged (a fault
//   sent meanwhile included) and no stall fires although the data stops; back on, scoring resumes. A stream
//   without modes that stops sending raises its stall alert meanwhile (the check would have fired), and a value
//   not in the mode topic's `values` is rejected and counted.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS, pumpPayload } from '../../src/simulator/signals';
import { runCli } from '../helpers/cli';
import { counterValue, faultSuite, metricValue, pollUntil, publishAll, PUMP_MODEL, pumpSeries, simAssets, sleep, topicOf } from '../helpers/faults';

const suite = faultSuite('modes', { receiver: true, influx: true });
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const FLOW = PUMP_CHANNELS.indexOf('flow_m3h');
const PRESSURE = PUMP_CHANNELS.indexOf('pressure_bar');
const CURRENT = PUMP_CHANNELS.indexOf('motor_current_a');

/** The pump at its second duty point: twice the flow, more pressure and current (normal flow stays within 67-118 m3/h). */
function highDuty(s: Sample): Sample {
  const v = Float32Array.from(s.values);
  v[FLOW] = v[FLOW] * 2;
  v[PRESSURE] = v[PRESSURE] * 1.6;
  v[CURRENT] = v[CURRENT] * 1.5;
  return { ts: s.ts, values: v };
}

/** The pump stopped: every reading near zero (motor current below 1 A). */
function stopped(s: Sample): Sample {
  return { ts: s.ts, values: Float32Array.from(s.values, (x) => x * 0.02) };
}

const WHEN = 'when: { off: "motor_current_a < 2", high: "flow_m3h > 126" }';

/** The subscription's modes: conditions, the `high` duty point scored by its own model. */
function subscription(modesExtra: string): string {
  return `subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
    modes:
      ${WHEN}
      default: normal
      ${modesExtra}
`;
}

const WINDOW = 'window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }';

function csv(samples: readonly Sample[]): string {
  return [`ts,${PUMP_CHANNELS.join(',')}`, ...samples.map((s) => `${s.ts},${Array.from(s.values, (x) => x.toFixed(4)).join(',')}`)].join('\n') + '\n';
}

test('a pump switching duty points: per-mode models raise nothing, one model pages; off (condition or topic) scores, pages and stalls nothing', async () => {
  const { receiver, dir } = suite;
  const seeds = simAssets('pump', 1, 4, 1).map((a) => a.seed);

  // The high duty point's model, trained from a recording holding both duty points: --mode high keeps its windows only.
  const highDir = path.join(dir, 'pump_high');
  await writeFile(
    path.join(dir, 'train.yaml'),
    `models: { pump: { path: ${PUMP_MODEL} } }\ndefaults:\n  ${WINDOW}\n  training: { epochs: 40, seed: 7 }\n${subscription('hold_samples: 3')}`,
  );
  // The simulated load follows slow cycles of absolute time, so the recording spans the hour around the test's data.
  const recording = pumpSeries(seeds[0], T0 - 1_800_000, 3600).map((s, i) => (i >= 200 ? highDuty(s) : s));
  await writeFile(path.join(dir, 'both.csv'), csv(recording));
  const trained = await runCli(dir, ['train', '-c', 'train.yaml', '--stream', 'line1/pump1', '--input', 'both.csv', '--out', highDir, '--mode', 'high', '--no-report', '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const t = JSON.parse(trained.stdout) as { windows: number };
  assert.ok(t.windows >= 330 && t.windows <= 340, `only the high windows are trained on (${t.windows} of ${(3600 - 30) / 10 + 1})`);

  let d = await suite.daemonFrom(
    'modes',
    (at) => `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-modes-${path.basename(at.stateDir)}, embedded_broker: off, reconnect: { min_delay_ms: 200, max_delay_ms: 2000 } }
models: { pump: { path: ${PUMP_MODEL} }, pump_high: { path: ${highDir} } }
limits: { stall_summary_streams: 0 }
defaults:
  ${WINDOW}
  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 4000 }
${subscription('models: { high: pump_high }')}streams:
  # The same switch scored by one model.
  - id: line1/pump2
    modes: { ${WHEN}, default: normal }
  # The mode from the PLC's state word.
  - id: line1/pump3
    modes: { topic: "plant/{line}/{asset}/state", field: state, values: { "0": off, "1": normal }, hold_samples: 1 }
  # Its mode never comes (unknown: scored with the stream's model); its stall alert shows the check would fire.
  - id: line1/pump4
    modes: { topic: "plant/{line}/{asset}/none", values: { "1": normal }, hold_samples: 1 }
sinks:
  console: { enabled: false }
  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }
  webhooks:
    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
`,
  );
  await d.ready();
  const pub = await suite.publisher('modes-publisher');
  const send = (asset: string, samples: readonly Sample[]): Promise<void> => publishAll(pub, samples.map((s) => ({ topic: topicOf(asset), payload: pumpPayload(s) })), 50);
  const paged = (): string[] => receiver.requests.filter((r) => r.status === 200).flatMap((r) => r.body.alerts.map((a) => `${r.body.status} ${a.labels['alertname']} ${a.labels['asset']}`));

  // 1. Duty points: 150 s normal, 300 s high, 150 s normal, then stopped for 60 s (off by the condition), on pump1
  // (a model per mode) and, with the same readings, pump2 (one model; it stays normal after, and stalls later).
  const duty = pumpSeries(seeds[0], T0, 600).map((s, i) => (i >= 150 && i < 450 ? highDuty(s) : s));
  await send('pump1', [...duty, ...pumpSeries(seeds[0], T0 + 600_000, 60).map(stopped)]);
  await send('pump2', duty);
  // 13 + 28 + 12 windows each (every change starts a fresh window of 30).
  await pollUntil('both duty streams scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= 2 * 53, 30_000);
  await d.drained();
  await pollUntil('the one-model stream pages', () => Promise.resolve(paged()), (p) => p.some((x) => /^firing AnomalyDetected pump2$/.test(x)), 15_000);
  assert.deepEqual(paged().filter((x) => x.endsWith('pump1')), [], 'the stream with a model per duty point pages nothing');
  const text = await d.metricsText();
  assert.equal(metricValue(text, 'anomalyd_stream_mode', { stream: 'line1/pump2', mode: 'normal' }), 1);
  assert.equal(counterValue(text, 'anomalyd_mode_changes_total'), 7, 'normal, high, normal on each, then off');
  const rows = async (q: string): Promise<Record<string, unknown>[]> =>
    (await suite.influx.query(q, 'anomalyd')).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
  const modes1 = await pollUntil('pump1 mode changes in InfluxDB', () => rows(`SELECT * FROM anomaly_mode WHERE "stream" = 'line1/pump1'`), (r) => r.length === 4, 10_000);
  assert.deepEqual(modes1.map((r) => [r['mode'], r['previous'] ?? null]), [['normal', null], ['high', 'normal'], ['normal', 'high'], ['off', 'normal']]);
  assert.equal(Number(modes1[1]?.['time']), T0 + 152_000, 'a change is stamped with the sample that made it (the third of the new duty point)');
  const highScores = await rows(`SELECT count(score) FROM anomaly_score WHERE "stream" = 'line1/pump1' AND "model" = 'pump_high'`);
  assert.ok(Number(highScores[0]?.['count']) >= 25, `the high duty point is scored by its own model: ${JSON.stringify(highScores)}`);

  // 2. Off by condition (pump1, since step 1) and by the mode topic (pump3): a fault sent while off is not scored or
  // paged, the data then stops for longer than the stall time, and no stall fires; pump4 (silent after its first
  // minute) stalls meanwhile.
  await send('pump3', pumpSeries(seeds[2], T0, 60));
  await send('pump4', pumpSeries(seeds[3], T0, 60));
  await pollUntil('pump3 and pump4 scored', () => rows(`SELECT count(score) FROM anomaly_score WHERE "stream" =~ /pump[34]/ GROUP BY "stream"`), (r) => r.length === 2, 15_000);
  await pub.publish('plant/line1/pump3/state', JSON.stringify({ state: 7 }), 1);
  await pub.publish('plant/line1/pump3/state', JSON.stringify({ state: 0 }), 1);
  await pollUntil('the unknown mode value rejected', async () => counterValue(await d.metricsText(), 'anomalyd_messages_rejected_total', { reason: 'unknown_mode' }), (n) => n === 1, 10_000);
  await d.drained();
  const scoredBefore = await d.metric('anomalyd_windows_scored_total');
  await send('pump3', pumpSeries(seeds[2], T0 + 60_000, 120, [[0, 120]]));
  await pollUntil('pump4 stalls meanwhile', () => Promise.resolve(paged()), (p) => p.includes('firing IngestionStalled pump4'), 15_000);
  await sleep(2000);
  await d.drained();
  assert.equal(await d.metric('anomalyd_windows_scored_total'), scoredBefore, 'nothing scored while off');
  assert.deepEqual(paged().filter((x) => /pump[13]$/.test(x)), [], 'no page while off, no stall of a stopped machine');
  const t2 = await d.metricsText();
  assert.equal(metricValue(t2, 'anomalyd_stream_mode', { stream: 'line1/pump1', mode: 'off' }), 1);
  assert.equal(metricValue(t2, 'anomalyd_stream_mode', { stream: 'line1/pump3', mode: 'off' }), 1);
  const streams = (await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/streams`)).json()) as { streams: { stream: string; mode?: string | null }[] };
  assert.deepEqual(streams.streams.filter((s) => s.mode !== undefined).map((s) => [s.stream, s.mode]).sort(), [['line1/pump1', 'off'], ['line1/pump2', 'normal'], ['line1/pump3', 'off'], ['line1/pump4', null]]);
  assert.match(await (await fetch(`http://127.0.0.1:${d.httpPort}/`)).text(), /<th>Mode<\/th>/);

  // 3. Back on: pump1 runs again (condition), pump3's PLC says so (topic); both are scored again and stay quiet.
  await pub.publish('plant/line1/pump3/state', JSON.stringify({ state: 1 }), 1);
  await send('pump1', pumpSeries(seeds[0], T0 + 660_000, 80));
  await send('pump3', pumpSeries(seeds[2], T0 + 180_000, 80));
  const scoredSince = (stream: string, from: number) => rows(`SELECT count(score) FROM anomaly_score WHERE time >= ${from * 1e6} AND "stream" = '${stream}'`);
  await pollUntil('pump1 scored again', () => scoredSince('line1/pump1', T0 + 660_000), (r) => Number(r[0]?.['count']) >= 3, 15_000);
  await pollUntil('pump3 scored again', () => scoredSince('line1/pump3', T0 + 180_000), (r) => Number(r[0]?.['count']) >= 3, 15_000);
  await d.drained();
  assert.deepEqual(paged().filter((x) => /pump[13]$/.test(x)), [], 'back on: quiet again');
  const modes3 = await rows(`SELECT * FROM anomaly_mode WHERE "stream" = 'line1/pump3'`);
  assert.deepEqual(modes3.map((r) => r['mode']), ['off', 'normal']);

  // The learned and configured mode state does not need the old process: a restart still scores pump1 by mode.
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  await send('pump1', pumpSeries(seeds[0], T0 + 740_000, 80).map(highDuty));
  await pollUntil('pump1 high again after the restart', async () => metricValue(await d.metricsText(), 'anomalyd_stream_mode', { stream: 'line1/pump1', mode: 'high' }), (v) => v === 1, 15_000);
  await d.drained();
  assert.deepEqual(paged().filter((x) => x.endsWith('pump1')), []);
});
