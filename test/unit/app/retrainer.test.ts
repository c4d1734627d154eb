import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { detectorSpec } from '../../../src/app/detection';
import { JOBS_FILE, Retrainer, type CandidateMeta, type RetrainerOptions } from '../../../src/app/retrainer';
import type { RetrainSettings } from '../../../src/app/retrainSettings';
import { loadConfigText } from '../../../src/config/load';
import type { AlertEpisode } from '../../../src/core/alertHistory';
import type { Window } from '../../../src/core/types';
import type { StreamBinding } from '../../../src/pipeline/pipeline';
import { WindowRecorder } from '../../../src/state/windowRecorder';
import { testContext } from '../../helpers/context';

const CH = ['a', 'b'];
const SIZE = 4;
const settings: RetrainSettings = {
  everyMs: null, drift: { enabled: true, overMs: 600_000, factor: 3, minWindows: 20 }, lookbackMs: 3_600_000, source: 'recorded', influxQuery: null,
  minCleanWindows: 30, shadowForMs: 0, promotion: 'manual', autoPromote: { maxAlertRateRatio: 1, minLabelAgreement: 0.8 },
};
const config = loadConfigText('defaults:\n  training: { epochs: 2, encoder_units: [8], latent_units: 2, batch_size: 16 }\n', '/tmp/t.yaml', {});

function binding(stream: string, model = 'm'): StreamBinding {
  return { spec: { id: stream, channels: CH }, model, window: { size: SIZE, hop: 2, maxGapMs: 10_000, minCompleteness: 0.9, samplePeriodMs: 1000 }, labels: {}, alerts: { observe: () => [], observeInsufficient: () => [] } };
}

function win(stream: string, end: number, level = 1): Window {
  return { stream, start: end - 3000, end, size: SIZE, channels: CH.length, values: Float32Array.from({ length: SIZE * CH.length }, (_, i) => level + Math.sin(end / 7000 + i) * 0.1), completeness: 1 };
}

async function setup(o: Partial<RetrainerOptions> = {}, dir?: string): Promise<{ r: Retrainer; dir: string; candidates: { model: string; dir: string; meta: CandidateMeta }[]; recorder: WindowRecorder }> {
  const d = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'anomalyd-retrainer-')));
  const ctx = testContext('retrain').ctx;
  const recorder = new WindowRecorder(d, ctx.log);
  const candidates: { model: string; dir: string; meta: CandidateMeta }[] = [];
  const r = new Retrainer({
    ctx, stateDir: d, recorder,
    settingsOf: (s) => (s.startsWith('off/') ? null : settings),
    specFor: (b) => detectorSpec({ ...config.defaults, window: { ...config.defaults.window, size: SIZE, hop: 2 } }, b.model, b.spec, 'cpu', 'test'),
    alertWindowsOf: () => 1,
    episodes: () => [],
    labelOf: () => undefined,
    backend: 'cpu',
    onCandidate: (model, cdir, meta) => {
      candidates.push({ model, dir: cdir, meta });
      return Promise.resolve({ version: 'v1' });
    },
    isStream: (s) => s === 'known/but-quiet' || s === 'off/p9',
    now: () => Date.now(),
    ...o,
  });
  await r.start();
  return { r, dir: d, candidates, recorder };
}

/** Windows every 2 s from t0 (the recorder takes every one: 1 h over 2,000 windows is 1.8 s). */
async function feed(r: Retrainer, recorder: WindowRecorder, b: StreamBinding, t0: number, n: number, pValue = 0.5, level = 1): Promise<void> {
  for (let i = 0; i < n; i++) {
    r.observe(b, win(b.spec.id, t0 + i * 2000, level), pValue, true);
    if (i === 0) await recorder.flush();
  }
  await recorder.flush();
}

test('too few clean windows: refused with the reason; an unknown, unconfigured or unscored stream is refused by the operator API', async () => {
  const { r, recorder } = await setup({ episodes: () => [episode('fp1', 'l/p1', 20_000, 60_000)] });
  const b = binding('l/p1');
  await feed(r, recorder, b, 0, 36);
  const job = r.request('l/p1');
  assert.ok(!('refused' in job));
  assert.equal(job.trigger, 'operator');
  const again = r.request('l/p1');
  assert.ok('refused' in again && again.refused === 'running');
  await r.idle();
  const last = r.lastJob('l/p1');
  assert.equal(last?.state, 'refused');
  assert.match(last?.reason ?? '', /^\d+ clean windows over the lookback, 30 needed \(recorded 35; left out: \d+ in unlabelled alerts/);
  const unknown = r.request('nope');
  assert.ok('refused' in unknown && unknown.refused === 'unknown');
  const quiet = r.request('known/but-quiet');
  assert.ok('refused' in quiet && quiet.refused === 'not_scored');
  r.observe(binding('off/p9'), win('off/p9', 1000), 0.5, true);
  const off = r.request('off/p9');
  assert.ok('refused' in off && off.refused === 'off');
});

function episode(fingerprint: string, stream: string, startsAt: number, endsAt: number | null): AlertEpisode {
  return { fingerprint, stream, model: 'm', kind: 'anomaly', alertname: 'AnomalyDetected', severity: 'warning', startsAt, endsAt, peakScore: 1, threshold: 0.5, topChannels: [] };
}

test('drift trains a candidate in a worker from the windows of every retraining stream of the model; maintenance windows are not recorded', async () => {
  const { r, recorder, candidates } = await setup();
  const b1 = binding('l/p1');
  const b2 = binding('l/p2');
  await feed(r, recorder, b1, 0, 40, 0.5);
  await feed(r, recorder, b2, 0, 40, 0.5);
  // Inside maintenance (learn false): neither recorded nor counted for drift.
  for (let i = 0; i < 30; i++) r.observe(b1, win('l/p1', 100_000 + i * 2000), 0.0001, false);
  r.tick();
  assert.equal(r.lastJob('l/p1'), null, 'no drift on calibrated data');
  await feed(r, recorder, b1, 200_000, 20, 0.001, 3);
  r.tick();
  assert.equal(r.lastJob('l/p1')?.trigger, 'drift');
  r.tick();
  await r.idle();
  const job = r.lastJob('l/p1');
  assert.equal(job?.state, 'shadow', job?.reason);
  assert.equal(job?.version, 'v1');
  assert.equal(candidates.length, 1, 'one drift retrain per period');
  const [c] = candidates;
  assert.equal(c.model, 'm');
  assert.equal(c.meta.trigger, 'drift');
  assert.equal(c.meta.metrics['streams'], 2);
  assert.equal(c.meta.windows, 39 + 20 + 39, 'both streams (the first window of each opens its record), maintenance left out');
  assert.match(c.meta.dataHash, /^[0-9a-f]{64}$/);
  const manifest = JSON.parse(await readFile(path.join(c.dir, 'manifest.json'), 'utf8')) as { training: { windows: number }; calibration: unknown };
  assert.equal(manifest.training.windows, c.meta.windows);
  assert.notEqual(manifest.calibration, null);
});

test('a job a restart cut short shows failed; the schedule counts from the saved first sight', async () => {
  const { dir } = await setup();
  const file = path.join(dir, JOBS_FILE);
  await writeFile(file, JSON.stringify({ format: 1, streams: { 'l/p1': { firstSeenAt: 1000, lastRetrainAt: null, lastDriftRetrainAt: null } }, jobs: [{ id: 'j', stream: 'l/p1', model: 'm', trigger: 'operator', state: 'training', requestedAt: 5 }] }));
  const now = 1000 + 3_600_000;
  const { r, recorder } = await setup({ settingsOf: () => ({ ...settings, everyMs: 3_600_000, drift: null }), now: () => now }, dir);
  const job = r.lastJob('l/p1');
  assert.equal(job?.state, 'failed');
  assert.equal(job?.reason, 'interrupted by a restart of the daemon');
  await feed(r, recorder, binding('l/p1'), 0, 3);
  r.tick();
  assert.equal(r.lastJob('l/p1')?.trigger, 'schedule', 'due: an hour after the first sight saved before the restart');
  await r.idle();
  const saved = JSON.parse(await readFile(file, 'utf8')) as { streams: Record<string, { lastRetrainAt: number }> };
  assert.equal(saved.streams['l/p1'].lastRetrainAt, now);
});
