// A model learned per operating mode, through the real daemon: a stream scored by the bundled pump model at its
// normal duty point learns its own model for the `high` duty point (`models: { high: auto }`) from its first
// windows in that mode, in a worker, stores it as auto:<stream>@<mode> under state_dir/models, scores the later
// high windows with it, and after a kill -9 loads it again instead of learning anew.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS, pumpPayload } from '../../src/simulator/signals';
import { faultSuite, metricValue, pollUntil, publishAll, PUMP_MODEL, pumpSeries, simAssets, topicOf } from '../helpers/faults';

const suite = faultSuite('modes-autolearn');
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const FLOW = PUMP_CHANNELS.indexOf('flow_m3h');
const MODEL = 'auto:line1/pump1@high';

/** The second duty point: twice the flow (normal flow stays within 67-118 m3/h). */
function highDuty(s: Sample): Sample {
  const v = Float32Array.from(s.values);
  v[FLOW] = v[FLOW] * 2;
  return { ts: s.ts, values: v };
}

test('a mode with model auto learns its own model from its windows, scores with it, and keeps it across kill -9', async () => {
  let stateDir = '';
  let d = await suite.daemonFrom('modes-autolearn', (at) => {
    stateDir = at.stateDir;
    return `http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-modes-autolearn-${path.basename(at.stateDir)}, embedded_broker: off }
models: { pump: { path: ${PUMP_MODEL} } }
defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  training: { encoder_units: [32], latent_units: 4, epochs: 5, auto_learn_windows: 20, seed: 3 }
  alerting: { stall_after_ms: 0 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
    modes: { when: { high: "flow_m3h > 126" }, default: normal, models: { high: auto } }
`;
  });
  await d.ready();
  const pub = await suite.publisher('modes-autolearn-publisher');
  const seed = simAssets('pump', 1, 1, 1)[0]?.seed ?? 1;
  const send = (samples: readonly Sample[]): Promise<void> => publishAll(pub, samples.map((s) => ({ topic: topicOf('pump1'), payload: pumpPayload(s) })), 50);

  // 100 s normal (scored by pump), then the high duty point: 20 windows of 30 every 10 samples need 220 samples.
  await send([...pumpSeries(seed, T0, 100), ...pumpSeries(seed, T0 + 100_000, 300).map(highDuty)]);
  await pollUntil('the high model learned', () => Promise.resolve(d.log), (l) => /Learned a model; scoring starts/.test(l), 60_000);
  assert.match(d.log, new RegExp(`Collecting windows to learn a model\\. .*model=${MODEL.replace(/[/@]/g, '.')}`));
  const dirs = await readdir(path.join(stateDir, 'models'));
  assert.equal(dirs.length, 1);
  assert.match(dirs[0] ?? '', /^line1_pump1_high-[0-9a-f]{12}$/);
  const scored = async (): Promise<number> => metricValue(await d.metricsText(), 'anomalyd_windows_scored_total');
  const before = await scored();
  await send(pumpSeries(seed, T0 + 400_000, 100).map(highDuty));
  await pollUntil('high windows scored by the learned model', scored, (n) => n >= before + 8, 15_000);
  const streams = (await (await fetch(`${d.base}/api/v1/streams`)).json()) as { streams: { stream: string; model: string; mode?: string }[] };
  assert.deepEqual(streams.streams.map((s) => [s.stream, s.model, s.mode]), [['line1/pump1', MODEL, 'high']]);

  // kill -9: the learned model loads under its name at start; the stream's high windows are scored, nothing relearned.
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  assert.equal(metricValue(await d.metricsText(), 'anomalyd_model_info', { model: MODEL }), 1, 'loaded at start');
  await send(pumpSeries(seed, T0 + 500_000, 100).map(highDuty));
  await pollUntil('scored after the restart', scored, (n) => n >= 5, 15_000);
  assert.doesNotMatch(d.log, /Collecting windows to learn a model/);
});
