// The bundled models of the two duty points (models/pump, models/pump_high) on simulated pumps at the high duty
// point, scored through the daemon's pipeline: what lets a demo with operating modes run a pump at two duty points
// as two normals. Hours the models were not trained on (training used 2026-01-05/06).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alertSettings, windowOptions } from '../../../src/app/detection';
import { effectiveDetection } from '../../../src/config/detection';
import { loadConfigText } from '../../../src/config/load';
import { selectBackend } from '../../../src/model/backend';
import { Detector } from '../../../src/model/detector';
import { replayThroughPipeline } from '../../../src/offline/streamReplay';
import { AssetSchedule, PUMP_CHANNELS, pumpSamples, simAssets, type PumpSchedule } from '../../../src/simulator/signals';

const ROOT = path.resolve(__dirname, '../../../..');
const T0 = Date.UTC(2026, 5, 10);
const DEMO: PumpSchedule = { plannedStopEveryS: 900, plannedStopDurationS: 120, dutyPointEveryS: 1200, dutyPointDurationS: 480 };
// The demo's detection settings (config/default.yaml).
const demo = loadConfigText(fs.readFileSync(path.join(ROOT, 'config', 'default.yaml'), 'utf8'), path.join(ROOT, 'config', 'default.yaml'), { STATE_DIR: '/tmp/unused' });
const detection = effectiveDetection(demo.defaults, demo.subscriptions[0]);
const manifest = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(ROOT, 'models', name, 'manifest.json'), 'utf8')) as Record<string, unknown>;

before(async () => {
  await selectBackend();
});

void test('models/pump_high has the channels, window and calibration method of models/pump', () => {
  const [pump, high] = [manifest('pump'), manifest('pump_high')];
  assert.deepEqual(high.channels, pump.channels);
  assert.deepEqual(high.window, pump.window);
  assert.deepEqual(high.architecture, pump.architecture);
  assert.deepEqual((high.calibration as { method: unknown }).method, (pump.calibration as { method: unknown }).method);
  assert.equal(high.name, 'pump_high');
});

/** Score/threshold of every window of the pump's steady high-duty stretches in [from, from + hours). */
function highDutyRatios(detector: Detector, seed: number, from: number, hours: number): number[] {
  const plan = new AssetSchedule(seed, DEMO);
  const ratios: number[] = [];
  const C = PUMP_CHANNELS.length;
  for (const spell of plan.highSpellsBetween(from, from + hours * 3_600_000)) {
    const samples = pumpSamples(seed, spell.startMs, (spell.endMs - spell.startMs) / 1000, [], 1000, DEMO).filter((s) => plan.high(s.ts) === 1 && plan.run(s.ts) === 1);
    // The longest run of consecutive samples (a stop may cut the spell).
    let best: typeof samples = [];
    let run: typeof samples = [];
    for (const s of samples) {
      run = run.length > 0 && s.ts - run[run.length - 1].ts === 1000 ? [...run, s] : [s];
      if (run.length > best.length) best = run;
    }
    if (best.length < 60) continue;
    const values = new Float64Array(best.length * C);
    best.forEach((s, i) => values.set(s.values, i * C));
    const out = replayThroughPipeline(detector, {
      stream: { id: 'line1/pump1', channels: [...PUMP_CHANNELS] },
      times: Float64Array.from(best, (s) => s.ts),
      values,
      window: windowOptions(detection.window),
      alerting: alertSettings(detection.alerting),
    });
    out.score.forEach((v, r) => Number.isNaN(v) || ratios.push(v / out.threshold[r]));
  }
  return ratios;
}

void test('healthy pumps at the high duty point: models/pump flags every window, models/pump_high none', async () => {
  const pump = await Detector.load(path.join(ROOT, 'models', 'pump'));
  const high = await Detector.load(path.join(ROOT, 'models', 'pump_high'));
  for (const a of simAssets('pump', 1, 3, 1)) {
    const byPump = highDutyRatios(pump, a.seed, T0, 3);
    const byHigh = highDutyRatios(high, a.seed, T0, 3);
    assert.ok(byPump.length > 300, `${a.id}: ${byPump.length} windows`);
    assert.ok(Math.min(...byPump) > 1.2, `${a.id}: models/pump scores the high duty point at ${Math.min(...byPump)} times its threshold or more`);
    assert.ok(Math.max(...byHigh) < 1, `${a.id}: models/pump_high scores it at ${Math.max(...byHigh)} times its threshold at most`);
  }
});
