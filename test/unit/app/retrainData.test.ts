import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertLeadMs, recordedSamplePeriod, selectClean, streamQuery, windowsHash } from '../../../src/app/retrainData';
import type { AlertEpisode } from '../../../src/core/alertHistory';
import type { FeedbackLabel } from '../../../src/core/feedback';
import type { RecordedWindow } from '../../../src/state/windowRecorder';

/** Windows of 10 s ending every 10 s from 10 s to 1000 s. */
const windows: RecordedWindow[] = Array.from({ length: 100 }, (_, i) => ({ start: i * 10_000 + 1000, end: (i + 1) * 10_000, values: new Float32Array([i]) }));

function episode(fingerprint: string, startsAt: number, endsAt: number | null, kind: AlertEpisode['kind'] = 'anomaly'): AlertEpisode {
  return { fingerprint, stream: 's', model: 'm', kind, alertname: 'AnomalyDetected', severity: 'warning', startsAt, endsAt, peakScore: 1, threshold: 0.5, topChannels: [] };
}

test('a false positive\'s windows are kept, a true positive\'s and an unlabelled alert\'s are left out, and each is counted', () => {
  const labels: Record<string, FeedbackLabel> = { fp: 'false_positive', tp: 'true_positive' };
  const r = selectClean({
    windows,
    episodes: [episode('fp', 100_000, 150_000), episode('tp', 300_000, 350_000), episode('un', 500_000, 550_000), episode('stall', 700_000, 800_000, 'ingestion_stalled')],
    labelOf: (f) => labels[f],
    leadMs: 0,
    from: 0,
    to: Infinity,
  });
  // A window spans 9 s: each 50 s episode overlaps the 6 windows ending from its start to its end.
  assert.equal(r.counts.falsePositiveKept, 6);
  assert.equal(r.counts.truePositive, 6);
  assert.equal(r.counts.unlabelledAlert, 6);
  assert.equal(r.clean.length, 100 - 12, 'a stall says nothing about the values');
  assert.ok(r.clean.some((w) => w.end === 120_000), 'the false positive is training data');
  assert.ok(!r.clean.some((w) => w.end === 320_000), 'the true positive is not');
});

test('the lead reaches back over the windows that led to the alert; a firing episode runs to the end of the data', () => {
  const r = selectClean({ windows, episodes: [episode('un', 500_000, null)], labelOf: () => undefined, leadMs: 30_000, from: 0, to: Infinity });
  assert.equal(r.clean.at(-1)?.end, 460_000);
  assert.equal(r.counts.unlabelledAlert, 100 - 46);
});

test('a window in a false positive and a true positive at once stays out; the lookback bounds the windows', () => {
  const labels: Record<string, FeedbackLabel> = { fp: 'false_positive', tp: 'true_positive' };
  const r = selectClean({ windows, episodes: [episode('fp', 100_000, 200_000), episode('tp', 150_000, 160_000)], labelOf: (f) => labels[f], leadMs: 0, from: 0, to: Infinity });
  assert.equal(r.counts.truePositive, 2);
  const bounded = selectClean({ windows, episodes: [], labelOf: () => undefined, leadMs: 0, from: 500_000, to: 600_000 });
  assert.equal(bounded.clean.length, 11);
  assert.equal(bounded.counts.outsideLookback, 89);
});

test('lead, sample period and the data hash', () => {
  assert.equal(alertLeadMs(3, 10, 30, 1000), (2 * 10 + 29) * 1000);
  assert.equal(recordedSamplePeriod([{ start: 0, end: 29_000, values: new Float32Array() }], 30), 1000);
  assert.equal(windowsHash(windows), windowsHash(windows.map((w) => ({ ...w }))));
  assert.notEqual(windowsHash(windows), windowsHash(windows.slice(1)));
  assert.match(windowsHash([]), /^[0-9a-f]{64}$/);
});

test('a stream\'s query: labels quoted for a string literal, the lookback as $timeFilter, an unknown name left as written', () => {
  const q = streamQuery(`SELECT * FROM "p" WHERE "asset" = '{asset}' AND "id" = '{stream}' AND "x" = '{nope}' AND $timeFilter`, "l1/it's", { asset: "o'brien\\1" }, 86_400_000);
  assert.equal(q, `SELECT * FROM "p" WHERE "asset" = 'o\\'brien\\\\1' AND "id" = 'l1/it\\'s' AND "x" = '{nope}' AND time >= now() - 86400000ms`);
});
