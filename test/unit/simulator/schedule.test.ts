import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { problemsOf } from '../config/helpers';
import { loadConfigText } from '../../../src/config/load';
import { mean } from '../../../src/core/stats';
import { AssetSchedule, NO_SCHEDULE, PUMP_CHANNELS, assetSeed, pumpPayload, pumpSamples, scheduleProblems, simAssets, type PumpSchedule, type SimFault } from '../../../src/simulator/signals';
import { DUTY_RAMP_MS, STOP_RAMP_DOWN_MS, STOP_RAMP_UP_MS } from '../../../src/simulator/schedule';
import { runSimulation, type FaultReport, type ScheduleReport } from '../../../src/simulator/run';

const T0 = Date.UTC(2026, 2, 2);
const ch = (name: (typeof PUMP_CHANNELS)[number]): number => PUMP_CHANNELS.indexOf(name);
// The demo's schedule as recommended for config/default.yaml: stops every 15 min for 2 min, the high duty point
// every 20 min for 8 min.
const DEMO: PumpSchedule = { plannedStopEveryS: 900, plannedStopDurationS: 120, dutyPointEveryS: 1200, dutyPointDurationS: 480 };
const HIGH_FLOW = 145;
const max = (values: readonly number[]): number => values.reduce((m, v) => Math.max(m, v), -Infinity);

void test('without a schedule the published samples are those of the simulator before schedules existed', () => {
  // SHA-256 of the payloads of the six pumps of seed 1 over an hour, computed with the simulator as it was before
  // planned stops and duty points were added.
  const digest = (schedule?: PumpSchedule): string => {
    const h = createHash('sha256');
    for (const a of simAssets('pump', 2, 3, 1)) for (const s of pumpSamples(a.seed, T0, 3600, [], 1000, schedule)) h.update(pumpPayload(s));
    return h.digest('hex');
  };
  assert.equal(digest(), '3dced58a0b7cf9eb19976cac6dd98d6dc865a233aaa599fad0d069240618bbba');
  assert.equal(digest(NO_SCHEDULE), digest());
  assert.notEqual(digest(DEMO), digest(), 'a schedule changes them');
});

void test('schedule: periodic stops and duty spells, staggered across pumps, pure in time', () => {
  const assets = simAssets('pump', 1, 3, 1);
  const day = T0 + 86_400_000;
  const starts = assets.map((a) => new AssetSchedule(a.seed, DEMO).stopsBetween(T0, day));
  for (const spans of starts) {
    assert.ok(spans.length >= 96 && spans.length <= 97, `${spans.length} stops a day`);
    spans.forEach((s, i) => {
      assert.equal(s.endMs - s.startMs, 120_000);
      if (i > 0) assert.equal(s.startMs - spans[i - 1].startMs, 900_000);
    });
  }
  assert.equal(new Set(starts.map((s) => s[1].startMs % 900_000)).size, 3, 'each pump stops at its own time');
  const spells = new AssetSchedule(assets[0].seed, DEMO).highSpellsBetween(T0, day);
  assert.ok(spells.length >= 72 && spells.length <= 73);
  assert.ok(spells.every((s) => s.endMs - s.startMs === 480_000));
  // Pure: another instance, asked in another order, answers the same.
  const a = new AssetSchedule(assets[0].seed, DEMO);
  const b = new AssetSchedule(assets[0].seed, DEMO);
  const times = Array.from({ length: 200 }, (_, i) => T0 + i * 7_777);
  assert.deepEqual(times.map((t) => a.state(t)), [...times].reverse().map((t) => b.state(t)).reverse());
  assert.deepEqual(new AssetSchedule(assets[0].seed, NO_SCHEDULE).state(T0), { run: 1, high: 0, runLag: 1 });
});

void test('schedule: a stop ramps down, stands still and ramps up; a spell blends in and out', () => {
  const seed = assetSeed(1, 1, 1);
  const plan = new AssetSchedule(seed, DEMO);
  const stop = plan.stopsBetween(T0, T0 + 3_600_000)[0];
  assert.equal(plan.run(stop.startMs - 1000), 1);
  assert.equal(plan.run(stop.startMs), 1);
  const down = plan.run(stop.startMs + STOP_RAMP_DOWN_MS / 2);
  assert.ok(down > 0 && down < 1, `half-way down: ${down}`);
  assert.equal(plan.run(stop.startMs + STOP_RAMP_DOWN_MS), 0);
  assert.ok(plan.stopped(stop.startMs + 60_000));
  assert.equal(plan.run(stop.endMs - STOP_RAMP_UP_MS), 0);
  const up = plan.run(stop.endMs - STOP_RAMP_UP_MS / 2);
  assert.ok(up > 0 && up < 1, `half-way up: ${up}`);
  assert.equal(plan.run(stop.endMs), 1);
  const spell = plan.highSpellsBetween(T0, T0 + 6 * 3_600_000)[0];
  assert.equal(plan.high(spell.startMs - 1000), 0);
  assert.ok(plan.high(spell.startMs + DUTY_RAMP_MS / 2) > 0 && plan.high(spell.startMs + DUTY_RAMP_MS / 2) < 1);
  assert.equal(plan.high(spell.startMs + DUTY_RAMP_MS), 1);
  assert.equal(plan.high(spell.endMs - DUTY_RAMP_MS), 1);
  assert.equal(plan.high(spell.endMs), 0);
  // The motor cools during the stop and warms again after it.
  const mid = (stop.startMs + stop.endMs) / 2;
  const lag = (t: number): number => plan.state(t).runLag;
  assert.ok(lag(stop.startMs) > 0.9 && lag(mid) < lag(stop.startMs) && lag(stop.endMs) < lag(mid), `${lag(stop.startMs)} ${lag(mid)} ${lag(stop.endMs)}`);
  assert.ok(lag(stop.endMs + 600_000) > lag(stop.endMs));
});

void test('a stopped pump: current far below 2 A, flow and pressure near 0, vibration at the noise floor, slowly cooling, never flat', () => {
  for (const a of simAssets('pump', 2, 3, 1)) {
    const plan = new AssetSchedule(a.seed, DEMO);
    const stop = plan.stopsBetween(T0 + 3_600_000, T0 + 7_200_000)[0];
    const samples = pumpSamples(a.seed, stop.startMs - 60_000, 300, [], 1000, DEMO);
    const still = samples.filter((s) => plan.stopped(s.ts));
    assert.ok(still.length >= 100, `${still.length} samples at standstill`);
    const col = (name: (typeof PUMP_CHANNELS)[number], rows = still): number[] => rows.map((s) => s.values[ch(name)]);
    assert.ok(max(col('motor_current_a')) < 0.5, `${a.id}: current at standstill up to ${max(col('motor_current_a'))} A`);
    assert.ok(max(col('flow_m3h')) < 0.5 && Math.min(...col('flow_m3h')) >= 0);
    assert.ok(max(col('pressure_bar')) < 0.05);
    for (const v of ['vib_x_rms', 'vib_y_rms', 'vib_z_rms'] as const) assert.ok(max(col(v)) < 0.1, `${v} ${max(col(v))}`);
    const before = samples.filter((s) => s.ts < stop.startMs);
    assert.ok(Math.min(...col('motor_current_a', before)) > 5, 'running before the stop');
    // Cooling: the motor loses heat slowly (thermal time constant 15 min), not in a step; compared with the same
    // pump without stops, whose temperature follows its load.
    const unscheduled = pumpSamples(a.seed, stop.startMs - 60_000, 300, [], 1000);
    const cooler = (i: number): number => unscheduled[i].values[ch('temperature_c')] - samples[i].values[ch('temperature_c')];
    const early = mean([55, 56, 57, 58, 59].map(cooler));
    const late = mean([165, 166, 167, 168, 169].map(cooler));
    // (Already a little cooler at the start: the stops before this one have not quite worn off.)
    assert.ok(late - early > 0.3 && late - early < 3, `${a.id}: ${early} degrees cooler at the stop's start, ${late} at its end`);
    // As published (4 decimals), no channel repeats a value 30 times over: the stop is no stuck sensor.
    for (const c of PUMP_CHANNELS) {
      const published = still.map((s) => (JSON.parse(pumpPayload(s)) as Record<string, number>)[c]);
      let run = 1;
      let longest = 1;
      for (let i = 1; i < published.length; i++) longest = Math.max(longest, (run = published[i] === published[i - 1] ? run + 1 : 1));
      assert.ok(longest < 10, `${a.id} ${c}: ${longest} equal values in a row`);
    }
  }
});

void test('the duty points: flow_m3h >= 145 separates them on the demo pumps; per pump high flow is 1.3 x normal or more', () => {
  let normalMax = -Infinity;
  let highMin = Infinity;
  for (const a of simAssets('pump', 2, 3, 1)) {
    const plan = new AssetSchedule(a.seed, DEMO);
    const samples = pumpSamples(a.seed, T0, 6 * 3600, [], 1000, DEMO);
    const flows = (want: number): number[] => samples.filter((s) => plan.run(s.ts) === 1 && plan.high(s.ts) === want).map((s) => s.values[ch('flow_m3h')]);
    normalMax = Math.max(normalMax, max(flows(0)));
    highMin = Math.min(highMin, Math.min(...flows(1)));
    // The high duty point draws more current at every moment of its spells than the normal one ever does.
    const current = (want: number): number[] => samples.filter((s) => plan.run(s.ts) === 1 && plan.high(s.ts) === want).map((s) => s.values[ch('motor_current_a')]);
    assert.ok(Math.min(...current(1)) > max(current(0)), `${a.id}: current`);
  }
  assert.ok(normalMax < HIGH_FLOW - 5 && highMin > HIGH_FLOW + 5, `normal flow up to ${normalMax}, high from ${highMin}`);
  for (let i = 0; i < 10; i++) {
    const seed = assetSeed(1000 + i, 1, 1);
    const plan = new AssetSchedule(seed, DEMO);
    const samples = pumpSamples(seed, T0, 3 * 3600, [], 1000, DEMO);
    const flows = (want: number): number[] => samples.filter((s) => plan.run(s.ts) === 1 && plan.high(s.ts) === want).map((s) => s.values[ch('flow_m3h')]);
    assert.ok(Math.min(...flows(1)) > 1.3 * max(flows(0)), `seed ${seed}`);
  }
});

void test('faults still act at the high duty point', () => {
  const seed = assetSeed(1, 1, 1);
  const plan = new AssetSchedule(seed, DEMO);
  const spell = plan.highSpellsBetween(T0, T0 + 6 * 3_600_000).find((x) => plan.stopsBetween(x.startMs, x.startMs + 360_000).length === 0);
  assert.ok(spell);
  const start = spell.startMs + 60_000;
  const end = start + 300_000;
  const at = (faults: SimFault[]): ReturnType<typeof pumpSamples> => pumpSamples(seed, start, 300, faults, 1000, DEMO);
  const clean = at([]);
  assert.ok(clean.every((s) => plan.high(s.ts) === 1 && plan.run(s.ts) === 1), 'the stretch is at the high duty point');
  const vx = ch('vib_x_rms');
  const wear = at([{ kind: 'bearing_wear', startMs: start, endMs: end }]);
  assert.ok(mean(wear.slice(-30).map((s) => s.values[vx])) > 2.5 * mean(clean.slice(-30).map((s) => s.values[vx])));
  const p = ch('pressure_bar');
  const stuck = at([{ kind: 'stuck_sensor', startMs: start, endMs: end, channel: p }]);
  assert.equal(new Set(stuck.map((s) => s.values[p])).size, 1);
  assert.equal(stuck[0].values[p], clean[0].values[p], 'stuck at the value it read at the high duty point');
});

void test('runSimulation with a schedule: no fault injected into a pump that stops during it; silent at standstill when asked', async () => {
  const run = async (
    publishWhileStopped: boolean,
  ): Promise<{ faults: FaultReport[]; events: ScheduleReport[]; published: { topic: string; ts: number }[]; summary: { faults: number; startMs: number } }> => {
    const faults: FaultReport[] = [];
    const events: ScheduleReport[] = [];
    const published: { topic: string; ts: number }[] = [];
    let clock = T0;
    const summary = await runSimulation(
      { profile: 'pump', lines: 1, assets: 3, rateHz: 1, chunkSamples: 1, anomalyEveryS: 30, faultDurationS: 60, seed: 1, topicPrefix: 'plant', durationS: 3600, schedule: DEMO, publishWhileStopped },
      {
        publish: (topic, payload) => (published.push({ topic, ts: (JSON.parse(String(payload)) as { ts: number }).ts }), Promise.resolve()),
        onFault: (f) => faults.push(f),
        onSchedule: (e) => events.push(e),
        now: () => (clock += 1000),
      },
    );
    return { faults, events, published, summary };
  };
  const loud = await run(true);
  const assets = simAssets('pump', 1, 3, 1);
  const plans = assets.map((a) => new AssetSchedule(a.seed, DEMO));
  assert.ok(loud.faults.length > 20 && loud.faults.length < 119, `${loud.faults.length} of 119 planned faults injected`);
  assert.equal(loud.summary.faults, loud.faults.length);
  for (const f of loud.faults) assert.deepEqual(plans[f.asset].stopsBetween(f.startMs, f.endMs), [], `${f.assetId} ${f.kind} overlaps a stop`);
  assert.equal(loud.published.length, 3 * 3600);
  // Every stop and spell of the hour is reported once, those under way at the start included.
  const from = loud.summary.startMs;
  const expected = assets.flatMap((a, i) => [
    ...plans[i].stopsBetween(from, from + 3_600_000).map((s) => `planned_stop ${a.id} ${s.startMs} ${s.endMs}`),
    ...plans[i].highSpellsBetween(from, from + 3_600_000).map((s) => `high_duty ${a.id} ${s.startMs} ${s.endMs}`),
  ]);
  assert.deepEqual(loud.events.map((e) => `${e.kind} ${e.assetId} ${e.startMs} ${e.endMs}`).sort(), expected.sort());
  assert.ok(expected.length >= 3 * (4 + 3));
  const quiet = await run(false);
  const stoppedTicks = loud.published.filter((m) => plans[assets.findIndex((a) => a.topic === m.topic)].stopped(m.ts)).length;
  assert.ok(stoppedTicks > 3 * 2 * 150, `${stoppedTicks} samples at standstill in the hour`);
  assert.equal(quiet.published.length, 3 * 3600 - stoppedTicks);
  assert.ok(quiet.published.every((m) => !plans[assets.findIndex((a) => a.topic === m.topic)].stopped(m.ts)));
});

void test('config and CLI refuse a stop or spell as long as its period', () => {
  assert.deepEqual(scheduleProblems(DEMO), []);
  assert.equal(scheduleProblems({ ...DEMO, plannedStopDurationS: 900 }).length, 1);
  assert.equal(scheduleProblems({ ...DEMO, dutyPointDurationS: 10 }).length, 1);
  assert.equal(scheduleProblems({ ...NO_SCHEDULE, plannedStopDurationS: 1e9 }).length, 0, 'durations of an unused schedule do not matter');
  assert.deepEqual(problemsOf('simulator:\n  planned_stop_every_s: 600\n  planned_stop_duration_s: 600\n  duty_point_every_s: 60\n'), [
    'simulator.planned_stop_duration_s: must be shorter than planned_stop_every_s (600) (got 600)',
    'simulator.duty_point_duration_s: must be shorter than duty_point_every_s (60) (got 600)',
  ]);
  const ok = loadConfigText('simulator:\n  planned_stop_every_s: 1800\n  duty_point_every_s: 5400\n  duty_point_duration_s: 1800\n', 'test.yaml', {});
  assert.equal(ok.simulator.planned_stop_duration_s, 180);
  assert.equal(ok.simulator.publish_while_stopped, true);
  const defaults = loadConfigText('', 'test.yaml', {});
  assert.equal(defaults.simulator.planned_stop_every_s, 0);
  assert.equal(defaults.simulator.duty_point_every_s, 0);
});
