#!/usr/bin/env node
// The demo pumps with planned stops and spells at the high duty point (simulator/schedule.ts), scored by the
// bundled models through the daemon's own Pipeline with a fake clock (offline/streamReplay.ts), as
// scripts/measureDemoFaults.js scores the faults. Three things are measured on the demo's 1 line x 3 pumps at 1 Hz:
//
// 1. levels: how well one channel threshold tells the states apart (flow_m3h between the duty points,
//    motor_current_a between running and stopped), over the steady parts of each state (ramps left out);
// 2. models: healthy data at each duty point scored by models/pump and by models/pump_high (share of windows above
//    the threshold, the largest score/threshold ratio), each duty point's spells replayed on their own;
// 3. scenarios, with the simulator's faults injected (those `anomalyd simulate` injects, the same plan): alerts,
//    false alarms and faults detected (a fault counts when an alert starts on its asset between its start and
//    --slack seconds after its end) when
//      one_model:       the whole series goes to models/pump, as a daemon without operating modes scores it;
//      modes_one_model: operating modes as the demo config states them (off below --off-current A of motor
//                       current, high at --high-flow m3/h of flow and above, a state held --hold samples before
//                       the mode changes; off is not scored; each mode's stretch starts fresh windows), one model;
//      modes:           the same with models/pump_high for the high mode.
//    The modes are emulated here by cutting the series at each mode change; the daemon's own operating modes may
//    differ in details (what a firing alert does at a mode change).
// Run after `npm run build`:
//   node scripts/measureDemoModes.js [--hours H] [--seed S] [--stop-every S] [--duty-every S] [--high-flow F] [--json] [--verbose]
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));

async function main() {
  const { values } = parseArgs({
    options: {
      hours: { type: 'string', default: '24' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string', default: '2026-03-02T00:00:00Z' },
      every: { type: 'string', default: '120' },
      duration: { type: 'string', default: '60' },
      slack: { type: 'string', default: '60' },
      // The schedule recommended for the demo: a stop every 15 min for 2 min, the high duty point every 20 min
      // for 8 min (each pump at its own times).
      'stop-every': { type: 'string', default: '900' },
      'stop-duration': { type: 'string', default: '120' },
      'duty-every': { type: 'string', default: '1200' },
      'duty-duration': { type: 'string', default: '480' },
      'high-flow': { type: 'string', default: '145' },
      'off-current': { type: 'string', default: '2' },
      hold: { type: 'string', default: '3' },
      config: { type: 'string', default: path.join(root, 'config', 'default.yaml') },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const { selectBackend } = dist('model/backend.js');
  const { Detector } = dist('model/detector.js');
  const { loadConfigFile } = dist('config/load.js');
  const { effectiveDetection } = dist('config/detection.js');
  const { alertSettings, windowOptions, newScoreFilter, sensorCheckOptions } = dist('app/detection.js');
  const { SensorCheck } = dist('core/sensorCheck.js');
  const { replayThroughPipeline } = dist('offline/streamReplay.js');
  const { faultsBefore, PUMP_FAULT_KINDS } = dist('simulator/faults.js');
  const { faultInjected } = dist('simulator/run.js');
  const { simAssets, pumpSamples, PUMP_CHANNELS, AssetSchedule, scheduleProblems } = dist('simulator/signals.js');

  await selectBackend();
  const config = await loadConfigFile(values.config, { ...process.env, STATE_DIR: '/tmp/unused' });
  const sub = config.subscriptions[0];
  const detection = effectiveDetection(config.defaults, sub);
  const models = { pump: await Detector.load(path.join(root, 'models', 'pump')), pump_high: await Detector.load(path.join(root, 'models', 'pump_high')) };
  const seed = Number(values.seed);
  const schedule = {
    plannedStopEveryS: Number(values['stop-every']),
    plannedStopDurationS: Number(values['stop-duration']),
    dutyPointEveryS: Number(values['duty-every']),
    dutyPointDurationS: Number(values['duty-duration']),
  };
  const problems = scheduleProblems(schedule);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const highFlow = Number(values['high-flow']);
  const offCurrent = Number(values['off-current']);
  const hold = Number(values.hold);
  const C = PUMP_CHANNELS.length;
  const FLOW = PUMP_CHANNELS.indexOf('flow_m3h');
  const CURRENT = PUMP_CHANNELS.indexOf('motor_current_a');
  const assets = simAssets('pump', 1, 3, seed);
  const startMs = Date.parse(values.start);
  const durationMs = Number(values.hours) * 3600_000;
  const rows = durationMs / 1000;
  const slackMs = Number(values.slack) * 1000;
  const plans = assets.map((a) => new AssetSchedule(a.seed, schedule));
  const plan = { seed, assets: assets.length, channels: C, kinds: PUMP_FAULT_KINDS, startMs, everyMs: Number(values.every) * 1000, durationMs: Number(values.duration) * 1000 };
  const faults = faultsBefore(plan, startMs + durationMs).filter((f) => faultInjected(f, plans[f.asset]));
  const t0 = Date.now();

  // Replays rows [from, to) of one asset's series through a model; returns the alert starts and the scores.
  // `state` carries the stream's score filter (one per model) and its sensor checks (they judge the sensors
  // whatever the mode) from one stretch of the series to the next.
  function replay(a, series, from, to, model, state) {
    const times = series.times.subarray(from, to);
    const vals = series.values.subarray(from * C, to * C);
    let seq = 0;
    state.sensors ??= new SensorCheck(sensorCheckOptions(detection.alerting, { stream: assets[a].id, model: 'any', labels: {}, nextSequence: () => ++seq }, [...sub.channels]));
    const sensors = state.sensors;
    const filters = (state.filters ??= new Map());
    if (!filters.has(model)) filters.set(model, newScoreFilter(detection.calibration));
    const filter = filters.get(model);
    const out = replayThroughPipeline(models[model], {
      stream: { id: assets[a].id, channels: [...sub.channels] },
      times,
      values: vals,
      window: windowOptions(detection.window),
      alerting: alertSettings(detection.alerting),
      ...(filter ? { scoreFilter: filter } : {}),
      ...(sensors.enabled ? { sensors } : {}),
    });
    const firingNow = new Set();
    const starts = [];
    for (const n of out.notices) {
      if (n.status === 'firing' && !firingNow.has(n.fingerprint)) {
        firingNow.add(n.fingerprint);
        starts.push({ at: n.startsAt, kind: n.kind });
      } else if (n.status === 'resolved') firingNow.delete(n.fingerprint);
    }
    return { starts, out };
  }

  function seriesOf(a, withFaults) {
    const mine = withFaults ? faults.filter((f) => f.asset === a) : [];
    const samples = pumpSamples(assets[a].seed, startMs, rows, mine, 1000, schedule);
    const values = new Float64Array(rows * C);
    samples.forEach((s, i) => values.set(s.values, i * C));
    return { times: Float64Array.from(samples, (s) => s.ts), values };
  }

  // The operating mode of each row as the demo config's conditions give it: off first, then high, else normal;
  // a new state must hold `hold` samples before the mode follows it.
  function modesOf(series) {
    const modes = new Array(rows);
    let mode = null;
    let candidate = null;
    let run = 0;
    for (let r = 0; r < rows; r++) {
      const v = series.values;
      const raw = v[r * C + CURRENT] < offCurrent ? 'off' : v[r * C + FLOW] >= highFlow ? 'high' : 'normal';
      if (mode === null) mode = raw;
      if (raw === mode) run = 0;
      else if (raw === candidate) run++;
      else {
        candidate = raw;
        run = 1;
      }
      if (run >= hold) {
        mode = raw;
        run = 0;
      }
      modes[r] = mode;
    }
    return modes;
  }

  function segments(modes) {
    const out = [];
    let from = 0;
    for (let r = 1; r <= rows; r++) {
      if (r === rows || modes[r] !== modes[from]) {
        out.push({ mode: modes[from], from, to: r });
        from = r;
      }
    }
    return out;
  }

  // 1. Levels over the steady parts of each state, and 2. each model on healthy data at each duty point.
  const levels = { normal_flow_max: -Infinity, high_flow_min: Infinity, stopped_current_max: -Infinity, running_current_min: Infinity };
  const scored = { pump: { normal: newScoreStats(), high: newScoreStats() }, pump_high: { normal: newScoreStats(), high: newScoreStats() } };
  for (let a = 0; a < assets.length; a++) {
    const series = seriesOf(a, false);
    const state = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const t = series.times[r];
      const run = plans[a].run(t);
      const high = plans[a].high(t);
      const flow = series.values[r * C + FLOW];
      const current = series.values[r * C + CURRENT];
      state[r] = run === 0 ? 'off' : run === 1 && high === 0 ? 'normal' : run === 1 && high === 1 ? 'high' : 'ramp';
      if (state[r] === 'off') levels.stopped_current_max = Math.max(levels.stopped_current_max, current);
      if (run === 1) levels.running_current_min = Math.min(levels.running_current_min, current);
      if (state[r] === 'normal') levels.normal_flow_max = Math.max(levels.normal_flow_max, flow);
      if (state[r] === 'high') levels.high_flow_min = Math.min(levels.high_flow_min, flow);
    }
    for (const seg of segments(state)) {
      if (seg.mode !== 'normal' && seg.mode !== 'high') continue;
      for (const model of ['pump', 'pump_high']) {
        const { out, starts } = replay(a, series, seg.from, seg.to, model, {});
        const st = scored[model][seg.mode];
        st.alerts += starts.filter((s) => s.kind === 'anomaly').length;
        for (let r = 0; r < out.score.length; r++) {
          if (Number.isNaN(out.score[r])) continue;
          st.windows++;
          const ratio = out.score[r] / out.threshold[r];
          if (ratio > 1) st.above++;
          st.max_ratio = Math.max(st.max_ratio, ratio);
          st.ratios.push(ratio);
        }
      }
    }
  }

  // 3. The scenarios, faults injected.
  const scenarios = {
    one_model: { normal: 'pump', high: 'pump', off: 'pump', cut: false },
    modes_one_model: { normal: 'pump', high: 'pump', off: null, cut: true },
    modes: { normal: 'pump', high: 'pump_high', off: null, cut: true },
  };
  const results = {};
  for (const [name, sc] of Object.entries(scenarios)) {
    // Alert starts of one asset's series under this scenario.
    const alertStarts = (a, series, modes) => {
      const state = {};
      const starts = [];
      const parts = sc.cut ? segments(modes) : [{ mode: 'normal', from: 0, to: rows }];
      for (const seg of parts) {
        const model = sc.cut ? sc[seg.mode] : 'pump';
        if (!model || seg.to - seg.from < 2) continue;
        for (const s of replay(a, series, seg.from, seg.to, model, state).starts) starts.push({ ...s, from: seg.from, to: seg.to });
      }
      return starts;
    };
    const modeAt = (modes, ms) => modes[Math.min(rows - 1, Math.max(0, Math.round((ms - startMs) / 1000)))];
    // Healthy pumps: every alert is a false alarm.
    const healthy = { alerts: 0, by_mode: { normal: 0, high: 0, off: 0 }, by_kind: {} };
    for (let a = 0; a < assets.length; a++) {
      const series = seriesOf(a, false);
      const modes = modesOf(series);
      for (const s of alertStarts(a, series, modes)) {
        healthy.alerts++;
        healthy.by_mode[modeAt(modes, s.at)]++;
        healthy.by_kind[s.kind] = (healthy.by_kind[s.kind] ?? 0) + 1;
        if (values.verbose) {
          const into = (s.at - startMs) / 1000 - s.from;
          process.stderr.write(`${name}: false alarm ${s.kind} on ${assets[a].id} at ${new Date(s.at).toISOString()} (mode ${modeAt(modes, s.at)}, ${into} s into a ${s.to - s.from} s stretch)\n`);
        }
      }
    }
    // The same pumps with the faults: which are detected.
    const perKind = Object.fromEntries(PUMP_FAULT_KINDS.map((k) => [k, { faults: 0, detected: 0 }]));
    const perMode = { normal: { faults: 0, detected: 0 }, high: { faults: 0, detected: 0 } };
    for (let a = 0; a < assets.length; a++) {
      const series = seriesOf(a, true);
      const modes = modesOf(series);
      const starts = alertStarts(a, series, modes);
      for (const f of faults.filter((x) => x.asset === a)) {
        const mode = modeAt(modes, f.startMs);
        const hit = starts.some((s) => s.at >= f.startMs && s.at < f.endMs + slackMs);
        perKind[f.kind].faults++;
        if (hit) perKind[f.kind].detected++;
        if (perMode[mode]) {
          perMode[mode].faults++;
          if (hit) perMode[mode].detected++;
        }
      }
    }
    results[name] = { healthy_alerts: healthy, faults_by_mode: perMode, kinds: perKind };
  }

  const summary = {
    hours: Number(values.hours),
    seed,
    schedule,
    conditions: { off: `motor_current_a < ${offCurrent}`, high: `flow_m3h >= ${highFlow}`, hold_samples: hold },
    levels: Object.fromEntries(Object.entries(levels).map(([k, v]) => [k, round(v, 3)])),
    margins: { high_flow: round(levels.high_flow_min - highFlow, 2), normal_flow: round(highFlow - levels.normal_flow_max, 2), stopped_current: round(offCurrent - levels.stopped_current_max, 3), running_current: round(levels.running_current_min - offCurrent, 2) },
    scored: Object.fromEntries(Object.entries(scored).map(([m, byMode]) => [m, Object.fromEntries(Object.entries(byMode).map(([k, v]) => [k, scoreSummary(v)]))])),
    faults: faults.length,
    scenarios: results,
    seconds: round((Date.now() - t0) / 1000, 1),
  };
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    const w = (s) => process.stdout.write(s + '\n');
    w(`${summary.hours} h on 3 pumps (seed ${seed}): stops every ${schedule.plannedStopEveryS} s for ${schedule.plannedStopDurationS} s, high duty every ${schedule.dutyPointEveryS} s for ${schedule.dutyPointDurationS} s`);
    w(`levels: normal flow max ${summary.levels.normal_flow_max}, high flow min ${summary.levels.high_flow_min} (threshold ${highFlow}: margins ${summary.margins.normal_flow} / ${summary.margins.high_flow}); stopped current max ${summary.levels.stopped_current_max} A, running min ${summary.levels.running_current_min} A`);
    for (const [m, byMode] of Object.entries(summary.scored)) {
      for (const [mode, v] of Object.entries(byMode)) w(`${m.padEnd(9)} on healthy ${mode.padEnd(6)}: ${v.windows} windows, ${v.above_fraction} above threshold, max ratio ${v.max_ratio}, p99 ratio ${v.p99_ratio}, ${v.alerts} anomaly alerts`);
    }
    for (const [name, r] of Object.entries(results)) {
      const h = r.healthy_alerts;
      const kinds = Object.entries(r.kinds).map(([k, v]) => `${k} ${v.detected}/${v.faults}`).join(', ');
      w(`${name.padEnd(16)} healthy: ${h.alerts} alerts (normal ${h.by_mode.normal}, high ${h.by_mode.high}, off ${h.by_mode.off}); faults detected at normal ${r.faults_by_mode.normal.detected}/${r.faults_by_mode.normal.faults}, at high ${r.faults_by_mode.high.detected}/${r.faults_by_mode.high.faults}: ${kinds}`);
    }
  }
}

function newScoreStats() {
  return { windows: 0, above: 0, max_ratio: 0, ratios: [], alerts: 0 };
}

function scoreSummary(s) {
  const sorted = [...s.ratios].sort((x, y) => x - y);
  return {
    windows: s.windows,
    above_fraction: s.windows ? round(s.above / s.windows, 4) : null,
    max_ratio: round(s.max_ratio, 3),
    p99_ratio: sorted.length ? round(sorted[Math.floor(0.99 * (sorted.length - 1))], 3) : null,
    alerts: s.alerts,
  };
}

function round(x, digits) {
  return Number(x.toFixed(digits));
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
