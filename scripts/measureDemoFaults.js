#!/usr/bin/env node
// Detection of each simulator fault kind by the demo configuration (config/default.yaml + models/pump), measured
// through the daemon's own Pipeline with a fake clock (offline/streamReplay.ts). The faults are exactly those
// `anomalyd simulate --anomaly-every E --fault-duration D --seed S` injects (the same plan, simulator/faults.ts), on
// the demo's 1 line x 3 pumps at 1 Hz. A fault counts as detected when an alert (anomaly or data quality) starts
// on its asset between its start and `--slack` seconds after its end; an alert starting outside every fault's
// span is a false alarm. Run after `npm run build`:
//   node scripts/measureDemoFaults.js [--hours H] [--seed S] [--every E] [--duration D] [--slack SECS] [--json]
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));

async function main() {
  const { values } = parseArgs({
    options: {
      hours: { type: 'string', default: '6' },
      seed: { type: 'string', default: '1' },
      every: { type: 'string', default: '120' },
      duration: { type: 'string', default: '60' },
      slack: { type: 'string', default: '60' },
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
  const { simAssets, pumpSamples, PUMP_CHANNELS } = dist('simulator/signals.js');

  await selectBackend();
  const config = await loadConfigFile(values.config, { ...process.env, STATE_DIR: '/tmp/unused' });
  const sub = config.subscriptions[0];
  const detection = effectiveDetection(config.defaults, sub);
  const detector = await Detector.load(path.resolve(root, config.models[sub.model].path));
  const seed = Number(values.seed);
  const assets = simAssets('pump', 1, 3, seed);
  const startMs = Date.parse('2026-03-02T00:00:00Z');
  const durationMs = Number(values.hours) * 3600_000;
  const plan = { seed, assets: assets.length, channels: PUMP_CHANNELS.length, kinds: PUMP_FAULT_KINDS, startMs, everyMs: Number(values.every) * 1000, durationMs: Number(values.duration) * 1000 };
  const faults = faultsBefore(plan, startMs + durationMs);
  const slackMs = Number(values.slack) * 1000;
  const perKind = Object.fromEntries(PUMP_FAULT_KINDS.map((k) => [k, { faults: 0, detected: 0, delays_s: [] }]));
  let falseAlarms = 0;
  let alerts = 0;
  const t0 = Date.now();
  for (let a = 0; a < assets.length; a++) {
    const mine = faults.filter((f) => f.asset === a);
    const samples = pumpSamples(assets[a].seed, startMs, durationMs / 1000, mine, 1000);
    const times = Float64Array.from(samples, (s) => s.ts);
    const vals = new Float64Array(samples.length * PUMP_CHANNELS.length);
    samples.forEach((s, i) => vals.set(Array.from(s.values), i * PUMP_CHANNELS.length));
    const filter = newScoreFilter(detection.calibration);
    let seq = 0;
    const sensors = new SensorCheck(sensorCheckOptions(detection.alerting, { stream: assets[a].id, model: sub.model, labels: {}, nextSequence: () => ++seq }, [...sub.channels]));
    const out = replayThroughPipeline(detector, {
      stream: { id: assets[a].id, channels: [...sub.channels] },
      times,
      values: vals,
      window: windowOptions(detection.window),
      alerting: alertSettings(detection.alerting),
      ...(filter ? { scoreFilter: filter } : {}),
      ...(sensors.enabled ? { sensors } : {}),
    });
    // Pages: firing notices of a new alert (an escalation re-notifies the same fingerprint while firing).
    const firingNow = new Set();
    const starts = [];
    for (const n of out.notices) {
      if (n.status === 'firing' && !firingNow.has(n.fingerprint)) {
        firingNow.add(n.fingerprint);
        starts.push({ at: n.startsAt, kind: n.kind });
      } else if (n.status === 'resolved') firingNow.delete(n.fingerprint);
    }
    alerts += starts.length;
    for (const f of mine) {
      perKind[f.kind].faults++;
      const hit = starts.find((s) => s.at >= f.startMs && s.at < f.endMs + slackMs);
      if (hit) {
        perKind[f.kind].detected++;
        perKind[f.kind].delays_s.push((hit.at - f.startMs) / 1000);
      } else if (values.verbose) {
        let ratio = 0;
        let anomalous = 0;
        for (let r = 0; r < times.length; r++) {
          if (times[r] < f.startMs || times[r] >= f.endMs + slackMs || Number.isNaN(out.score[r])) continue;
          ratio = Math.max(ratio, out.score[r] / out.threshold[r]);
          anomalous += out.anomalous[r];
        }
        process.stderr.write(`missed ${f.kind} asset ${a} channel ${f.channel ?? '-'} at ${new Date(f.startMs).toISOString()}: max score/threshold ${ratio.toFixed(2)}, ${anomalous} anomalous windows\n`);
      }
    }
    for (const s of starts) if (!mine.some((f) => s.at >= f.startMs && s.at < f.endMs + slackMs)) falseAlarms++;
  }
  const summary = {
    hours: Number(values.hours),
    seed,
    faults: faults.length,
    alerts,
    false_alarms: falseAlarms,
    false_alarms_per_asset_hour: Number((falseAlarms / (assets.length * Number(values.hours))).toFixed(3)),
    kinds: Object.fromEntries(
      Object.entries(perKind).map(([k, v]) => {
        const d = [...v.delays_s].sort((x, y) => x - y);
        return [k, { faults: v.faults, detected: v.detected, rate: v.faults ? Number((v.detected / v.faults).toFixed(3)) : null, median_delay_s: d.length ? d[Math.floor(d.length / 2)] : null }];
      }),
    ),
    seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
  };
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write(`${summary.faults} faults in ${summary.hours} h on 3 pumps (seed ${seed}); ${alerts} alerts, ${falseAlarms} false (${summary.false_alarms_per_asset_hour}/asset-hour)\n`);
    for (const [k, v] of Object.entries(summary.kinds)) process.stdout.write(`  ${k.padEnd(13)} ${v.detected}/${v.faults} detected, median delay ${v.median_delay_s ?? '-'} s\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
