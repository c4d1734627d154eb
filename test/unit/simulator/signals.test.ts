import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload } from '../../../src/sources/decoders';
import { mean, std } from '../../../src/core/stats';
import {
  ECG_CHANNELS,
  PUMP_CHANNELS,
  PUMP_FAULT_KINDS,
  assetSeed,
  ecgBeats,
  ecgSamples,
  faultsBefore,
  nthFault,
  pumpPayload,
  pumpSamples,
  simAssets,
  type SimFault,
} from '../../../src/simulator/signals';
import { runSimulation, type FaultReport } from '../../../src/simulator/run';

const T0 = Date.UTC(2024, 0, 1);
const SEED = assetSeed(1, 1, 1);
const ch = (name: (typeof PUMP_CHANNELS)[number]): number => PUMP_CHANNELS.indexOf(name);
const column = (samples: { values: ArrayLike<number> }[], c: number): number[] => samples.map((s) => s.values[c]);

function corr(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / (a.length * std(a) * std(b));
}

void test('pump: deterministic, and the same whether generated in one call or several', () => {
  const whole = pumpSamples(SEED, T0, 100);
  const parts = [...pumpSamples(SEED, T0, 40), ...pumpSamples(SEED, T0 + 40_000, 60)];
  assert.deepEqual(parts.map((s) => Array.from(s.values)), whole.map((s) => Array.from(s.values)));
  assert.deepEqual(whole.map((s) => s.ts).slice(0, 3), [T0, T0 + 1000, T0 + 2000]);
  assert.notDeepEqual(Array.from(pumpSamples(assetSeed(1, 1, 2), T0, 1)[0].values), Array.from(whole[0].values));
});

void test('pump: plausible ranges and physically correlated channels over two hours', () => {
  const s = pumpSamples(SEED, T0, 7200);
  const range = (name: (typeof PUMP_CHANNELS)[number], lo: number, hi: number): void => {
    const v = column(s, ch(name));
    assert.ok(Math.min(...v) >= lo && Math.max(...v) <= hi, `${name} in [${Math.min(...v)}, ${Math.max(...v)}], expected within [${lo}, ${hi}]`);
  };
  range('flow_m3h', 20, 150);
  range('pressure_bar', 0.5, 8.5);
  range('motor_current_a', 8, 55);
  range('voltage_v', 385, 415);
  range('vib_x_rms', 0.3, 3);
  range('temperature_c', 20, 65);
  const flow = column(s, ch('flow_m3h'));
  assert.ok(corr(flow, column(s, ch('motor_current_a'))) > 0.9, 'current follows flow (load)');
  assert.ok(corr(flow, column(s, ch('pressure_bar'))) > 0.9, 'pressure follows speed');
  assert.ok(corr(flow, column(s, ch('vib_x_rms'))) > 0.5, 'vibration grows with speed');
  // Load cycles: flow varies by more than its noise.
  assert.ok(std(flow) > 5, `flow std ${std(flow)}`);
  // Temperature is slow: its sample-to-sample change is tiny compared with its range.
  const temp = column(s, ch('temperature_c'));
  const steps = temp.slice(1).map((v, i) => Math.abs(v - temp[i]));
  assert.ok(mean(steps) < 0.3 && Math.max(...temp) - Math.min(...temp) > 1);
});

void test('pump faults change the signal the way their names say', () => {
  const start = T0 + 600_000;
  const end = start + 300_000;
  const at = (faults: SimFault[]): ReturnType<typeof pumpSamples> => pumpSamples(SEED, start, 300, faults);
  const clean = at([]);
  const vx = ch('vib_x_rms');
  const wear = at([{ kind: 'bearing_wear', startMs: start, endMs: end }]);
  assert.ok(mean(column(wear.slice(-30), vx)) > 2.5 * mean(column(clean.slice(-30), vx)), 'bearing wear: vibration rises');
  assert.ok(Math.abs(wear[0].values[vx] - clean[0].values[vx]) < 0.01, 'bearing wear starts gradually');
  const cav = at([{ kind: 'cavitation', startMs: start, endMs: end }]);
  const p = ch('pressure_bar');
  const jitter = (v: number[]): number => std(v.slice(1).map((x, i) => x - v[i]));
  assert.ok(jitter(column(cav.slice(30), p)) > 3 * jitter(column(clean.slice(30), p)), 'cavitation: pressure fluctuates');
  assert.ok(mean(column(cav.slice(30), vx)) > 1.5 * mean(column(clean.slice(30), vx)), 'cavitation: vibration rises');
  const stuck = at([{ kind: 'stuck_sensor', startMs: start, endMs: end, channel: p }]);
  assert.equal(new Set(column(stuck, p)).size, 1, 'stuck sensor: perfectly flat');
  assert.deepEqual(column(stuck, ch('flow_m3h')), column(clean, ch('flow_m3h')), 'other channels untouched');
  const drift = at([{ kind: 'sensor_drift', startMs: start, endMs: end, channel: ch('flow_m3h') }]);
  const ratio = drift[299].values[ch('flow_m3h')] / clean[299].values[ch('flow_m3h')];
  assert.ok(Math.abs(ratio - 1) > 0.3, `drift ratio ${ratio}`);
  const spikes = at([{ kind: 'spikes', startMs: start, endMs: end, channel: vx }]);
  const big = spikes.filter((s, i) => s.values[vx] > 2 * clean[i].values[vx]).length;
  assert.ok(big > 15 && big < 70, `${big} spikes in 300 samples`);
  // Outside its window a fault does nothing.
  assert.deepEqual(Array.from(pumpSamples(SEED, end, 1, [{ kind: 'spikes', startMs: start, endMs: end, channel: vx }])[0].values), Array.from(pumpSamples(SEED, end, 1)[0].values));
});

void test('pump payload is the JSON the json decoder reads back', () => {
  const s = pumpSamples(SEED, T0, 1)[0];
  const r = decodePayload(Buffer.from(pumpPayload(s)), { kind: 'json', channels: PUMP_CHANNELS, timestamp: { source: 'payload', field: 'ts', unit: 'ms' }, maxPayloadBytes: 4096 }, T0 + 5);
  assert.ok(r.ok);
  assert.equal(r.samples[0].ts, T0);
  Array.from(r.samples[0].values).forEach((v, i) => assert.ok(Math.abs(v - s.values[i]) <= 5e-5));
});

void test('ecg: 250 Hz, R peaks at a normal heart rate with variability, mV range', () => {
  const s = ecgSamples(SEED, T0, 250 * 60);
  assert.equal(s[1].ts - s[0].ts, 4);
  const v = column(s, 0);
  assert.ok(Math.max(...v) > 0.8 && Math.max(...v) < 2 && Math.min(...v) > -0.8, `range ${Math.min(...v)}..${Math.max(...v)}`);
  const beats = ecgBeats(SEED, T0, T0 + 60_000);
  assert.ok(beats.length >= 58 && beats.length <= 80, `${beats.length} beats a minute`);
  assert.ok(beats.every((b) => b.kind === 'normal'));
  const rr = beats.slice(1).map((b, i) => b.ms - beats[i].ms);
  assert.ok(std(rr) > 5 && std(rr) < 80, `RR std ${std(rr)} ms`);
  // The largest value near each R peak time is the R wave.
  for (const b of beats.slice(1, 10)) {
    const i = Math.round((b.ms - T0) / 4);
    const local = v.slice(i - 10, i + 10);
    assert.ok(Math.max(...local) > 0.7, `R peak at ${b.ms}`);
  }
  assert.deepEqual(column(ecgSamples(SEED, T0 + 4000, 10), 0), v.slice(1000, 1010), 'pure in time');
  assert.deepEqual(ECG_CHANNELS, ['ecg_mv']);
});

void test('ecg faults: PVCs (premature, wide) and missed beats only inside the fault window', () => {
  const start = T0 + 20_000;
  const faults: SimFault[] = [{ kind: 'pvc', startMs: start, endMs: start + 20_000 }];
  const beats = ecgBeats(SEED, T0, T0 + 60_000, faults);
  const pvcs = beats.filter((b) => b.kind === 'pvc');
  assert.ok(pvcs.length >= 5 && pvcs.every((b) => b.ms >= start - 1000 && b.ms < start + 20_000), `${pvcs.length} PVCs`);
  // Premature: the interval before a PVC is clearly shorter than the one after it.
  const i = beats.indexOf(pvcs[1]);
  assert.ok(beats[i].ms - beats[i - 1].ms < 0.85 * (beats[i + 1].ms - beats[i].ms));
  const missed = ecgBeats(SEED, T0, T0 + 60_000, [{ kind: 'missed_beat', startMs: start, endMs: start + 20_000 }]).filter((b) => b.kind === 'missed');
  assert.ok(missed.length >= 3, `${missed.length} missed beats`);
  const clean = ecgSamples(SEED, T0, 250 * 60);
  const faulty = ecgSamples(SEED, T0, 250 * 60, 250, faults);
  assert.deepEqual(column(faulty.slice(0, 4000), 0), column(clean.slice(0, 4000), 0), 'identical before the fault');
});

void test('fault plan: pure in (seed, n), faults every interval on assets in range', () => {
  const plan = { seed: 3, assets: 5, channels: 8, kinds: PUMP_FAULT_KINDS, startMs: T0, everyMs: 60_000, durationMs: 30_000 };
  const faults = Array.from({ length: 50 }, (_, n) => nthFault(plan, n));
  assert.deepEqual(nthFault(plan, 7), faults[7]);
  assert.deepEqual(faultsBefore(plan, faults[49].startMs + 1), faults, 'faultsBefore lists the plan up to its end');
  assert.deepEqual(faultsBefore(plan, faults[0].startMs), [], 'none before the first');
  assert.deepEqual(faultsBefore({ ...plan, everyMs: 0 }, T0 + 3_600_000), [], 'a plan without faults');
  faults.forEach((f, n) => {
    assert.equal(f.startMs, T0 + (n + 1) * 60_000);
    assert.equal(f.endMs, f.startMs + 30_000);
    assert.ok(f.asset >= 0 && f.asset < 5);
    assert.equal(f.channel !== undefined, ['stuck_sensor', 'sensor_drift', 'spikes'].includes(f.kind), f.kind);
  });
  assert.equal(new Set(faults.map((f) => f.kind)).size, 5, 'every kind occurs');
  assert.equal(new Set(faults.map((f) => f.asset)).size, 5, 'every asset is hit');
});

void test('simAssets names streams and topics as the example config expects', () => {
  const a = simAssets('pump', 2, 2, 1, 'plant');
  assert.deepEqual(a.map((x) => x.topic), ['plant/line1/pump1/telemetry', 'plant/line1/pump2/telemetry', 'plant/line2/pump1/telemetry', 'plant/line2/pump2/telemetry']);
  assert.deepEqual(a.map((x) => x.id).slice(0, 1), ['line1/pump1']);
  assert.equal(new Set(a.map((x) => x.seed)).size, 4);
});

void test('runSimulation: publishes every asset each tick, reports faults, stops after the duration', async () => {
  const published: { topic: string; payload: Buffer | string }[] = [];
  const faults: FaultReport[] = [];
  let clock = T0 + 123;
  const summary = await runSimulation(
    { profile: 'pump', lines: 1, assets: 2, rateHz: 1, chunkSamples: 1, anomalyEveryS: 10, faultDurationS: 5, seed: 1, topicPrefix: 'plant', durationS: 30 },
    { publish: (topic, payload) => (published.push({ topic, payload }), Promise.resolve()), onFault: (f) => faults.push(f), now: () => (clock += 1000) },
  );
  assert.equal(summary.messages, 60);
  assert.equal(published.length, 60);
  assert.deepEqual(faults.map((f) => f.startMs - summary.startMs), [10_000, 20_000]);
  assert.ok(faults.every((f) => f.topic === `plant/${f.assetId}/telemetry` && f.endMs - f.startMs === 5000));
  const first = JSON.parse(String(published[0].payload)) as Record<string, number>;
  assert.equal(first.ts, summary.startMs);
  assert.deepEqual(Object.keys(first), ['ts', ...PUMP_CHANNELS]);
});

void test('runSimulation ecg: f32le chunks with a header that the decoder reads back', async () => {
  const published: Buffer[] = [];
  let clock = T0;
  await runSimulation(
    { profile: 'ecg', lines: 1, assets: 1, rateHz: 250, chunkSamples: 125, anomalyEveryS: 0, faultDurationS: 0, seed: 1, topicPrefix: 'p', durationS: 1 },
    { publish: (_t, payload) => (published.push(payload as Buffer), Promise.resolve()), now: () => (clock += 500) },
  );
  assert.equal(published.length, 2);
  const r = decodePayload(published[1], { kind: 'f32le', channels: ['ecg_mv'], sampleRateHz: 250, timestamp: { source: 'payload', field: 'ts', unit: 'ms' }, maxPayloadBytes: 4096 }, clock);
  assert.ok(r.ok);
  assert.equal(r.samples.length, 125);
  const expected = ecgSamples(assetSeed(1, 1, 1), r.samples[0].ts, 125);
  r.samples.forEach((s, i) => assert.ok(Math.abs(s.values[0] - expected[i].values[0]) < 1e-6));
});
