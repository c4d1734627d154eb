#!/usr/bin/env node
// Trains the bundled demo models (models/pump, models/pump_high, models/ecg) from fault-free simulator output with
// fixed seeds, through the real `anomalyd train` command. Run after `npm run build`; commit the small artifacts.
//   node scripts/trainDemoModels.js [pump|pump_high|ecg ...]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const sim = require(path.join(root, 'dist', 'simulator', 'signals.js'));
const { DUTY_RAMP_MS } = require(path.join(root, 'dist', 'simulator', 'schedule.js'));
const T0 = Date.parse('2026-01-05T00:00:00Z');

function writeCsv(file, channels, samples) {
  const lines = [['timestamp', ...channels].join(',')];
  for (const s of samples) lines.push([s.ts, ...Array.from(s.values, (v) => v.toFixed(5))].join(','));
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function train(config, stream, inputs, out) {
  const args = [path.join(root, 'dist', 'main.js'), 'train', '-c', config, '--stream', stream, '--out', out, '--json'];
  for (const f of inputs) args.push('--input', f);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train failed for ${out}`);
  process.stdout.write(r.stdout);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anomalyd-demo-'));
const wanted = process.argv.slice(2);
try {
  if (wanted.length === 0 || wanted.includes('pump')) {
    // Six pumps (seeds as the simulator derives them for --seed 1): eight half-hour recordings each, spread over
    // a day so the model sees the daily ambient-temperature cycle and all load regimes.
    const inputs = [];
    for (const asset of sim.simAssets('pump', 2, 3, 1)) {
      for (let h = 0; h < 24; h += 3) {
        const file = path.join(tmp, `${asset.id.replace('/', '_')}_${h}.csv`);
        writeCsv(file, sim.PUMP_CHANNELS, sim.pumpSamples(asset.seed, T0 + h * 3600_000, 1800, [], 1000));
        inputs.push(file);
      }
    }
    train(path.join(root, 'config', 'default.yaml'), 'line1/pump1', inputs, path.join(root, 'models', 'pump'));
  }
  if (wanted.length === 0 || wanted.includes('pump_high')) {
    // The same six pumps at their high duty point (simulator/schedule.ts), as a stream's `high` mode sees them: a
    // spell of an hour and a half every three hours (eight a day, so the day's ambient cycle is covered), the
    // transitions left out. From each spell half an hour: its first (the motor still warming from the normal duty
    // point) and, on alternate spells, its last (warm), so the model knows both.
    const schedule = { plannedStopEveryS: 0, plannedStopDurationS: 0, dutyPointEveryS: 3 * 3600, dutyPointDurationS: 5400 };
    const inputs = [];
    for (const asset of sim.simAssets('pump', 2, 3, 1)) {
      const spells = new sim.AssetSchedule(asset.seed, schedule).highSpellsBetween(T0, T0 + 48 * 3600_000);
      spells.slice(0, 16).forEach((spell, i) => {
        const from = i % 2 === 0 ? spell.startMs + DUTY_RAMP_MS : spell.endMs - DUTY_RAMP_MS - 1800_000;
        const file = path.join(tmp, `${asset.id.replace('/', '_')}_high_${i}.csv`);
        writeCsv(file, sim.PUMP_CHANNELS, sim.pumpSamples(asset.seed, from, 1800, [], 1000, schedule));
        inputs.push(file);
      });
    }
    train(path.join(root, 'config', 'default.yaml'), 'line1/pump1', inputs, path.join(root, 'models', 'pump_high'));
  }
  if (wanted.length === 0 || wanted.includes('ecg')) {
    const inputs = [];
    for (const asset of sim.simAssets('ecg', 1, 3, 1)) {
      const file = path.join(tmp, `${asset.id.replace('/', '_')}.csv`);
      writeCsv(file, sim.ECG_CHANNELS, sim.ecgSamples(asset.seed, T0, 20 * 60 * sim.ECG_RATE_HZ, sim.ECG_RATE_HZ, []));
      inputs.push(file);
    }
    train(path.join(root, 'config', 'ecg.example.yaml'), 'line1/ecg1', inputs, path.join(root, 'models', 'ecg'));
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
