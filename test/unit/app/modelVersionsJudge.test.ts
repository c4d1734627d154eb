import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeShadow, type JudgeBounds, type ShadowRecord } from '../../../src/app/modelVersionsJudge';
import type { AlertFeedback } from '../../../src/core/feedback';

const H = 3_600_000;
const SINCE = Date.parse('2026-12-01T00:00:00Z');
const NOW = SINCE + 48 * H;
const BOUNDS: JudgeBounds = { maxAlertRateRatio: 1.5, minLabelAgreement: 0.75, minShadowMs: 24 * H };

function shadow(parts: Partial<ShadowRecord> = {}): ShadowRecord {
  return { model: 'pump', version: 'v2', since: SINCE, windows: 1000, streams: new Set(['l1/p1', 'l1/p2']), episodes: [], liveEpisodes: 2, ...parts };
}

function label(stream: string, startsAt: number, endsAt: number | null, l: AlertFeedback['label']): AlertFeedback {
  return { fingerprint: `fp-${stream}`, stream, kind: 'anomaly', startsAt, endsAt, label: l, note: '', who: 'admin', at: NOW };
}

test('the judge waits until the shadow ran its minimum time and scored a window', () => {
  const early = judgeShadow(shadow(), [], BOUNDS, SINCE + 2 * H);
  assert.equal(early.verdict, 'wait');
  assert.equal(early.reason, 'in shadow for 2.0 h of the 24.0 h required');
  assert.equal(judgeShadow(shadow({ windows: 0 }), [], BOUNDS, NOW).verdict, 'wait');
});

test('promote when the would-be alert rate is within the ratio and no labelled episode says otherwise', () => {
  const v = judgeShadow(shadow({ episodes: [{ stream: 'l1/p1', start: SINCE + H, end: SINCE + 2 * H }] }), [], BOUNDS, NOW);
  assert.equal(v.verdict, 'promote');
  assert.equal(v.alertRateRatio, 0.5);
  assert.equal(v.labelAgreement, null);
  assert.match(v.reason, /no labelled episode in the period/);
  // A quiet live model counts as one episode: one would-be alert is a ratio of 1, not infinity.
  assert.equal(judgeShadow(shadow({ liveEpisodes: 0, episodes: [{ stream: 'l1/p1', start: SINCE + H, end: null }] }), [], BOUNDS, NOW).alertRateRatio, 1);
});

test('reject when it would alert much more often than the live model', () => {
  const episodes = [1, 2, 3, 4].map((i) => ({ stream: 'l1/p1', start: SINCE + i * H, end: SINCE + i * H + 60_000 }));
  const v = judgeShadow(shadow({ episodes }), [], BOUNDS, NOW);
  assert.equal(v.verdict, 'reject');
  assert.match(v.reason, /alerted 4 time\(s\) against the live model's 2 \(ratio 2\.00 > 1\.5\)/);
});

test('agreement: a false positive it stayed quiet on and a true positive it alerted on agree; labels of other streams, kinds or before the shadow do not count', () => {
  const episodes = [{ stream: 'l1/p1', start: SINCE + 10 * H + 60_000, end: SINCE + 11 * H }];
  const labels = [
    label('l1/p1', SINCE + 10 * H, SINCE + 10.5 * H, 'true_positive'), // overlaps its episode: agrees
    label('l1/p2', SINCE + 20 * H, SINCE + 21 * H, 'false_positive'), // it was quiet: agrees
    label('l1/p2', SINCE - 5 * H, SINCE - 4 * H, 'true_positive'), // before the shadow: not counted
    label('other/p9', SINCE + 20 * H, null, 'true_positive'), // not its stream
    { ...label('l1/p1', SINCE + 30 * H, null, 'true_positive'), kind: 'ingestion_stalled' }, // not an anomaly
  ];
  const v = judgeShadow(shadow({ episodes }), labels, BOUNDS, NOW);
  assert.deepEqual([v.labelled, v.agreed, v.labelAgreement, v.verdict], [2, 2, 1, 'promote']);

  // A false positive it would also have fired on, and a true positive it missed: 0 of 2.
  const wrong = judgeShadow(shadow({ episodes: [{ stream: 'l1/p2', start: SINCE + 20.5 * H, end: null }] }), labels, BOUNDS, NOW);
  assert.deepEqual([wrong.labelled, wrong.agreed, wrong.verdict], [2, 0, 'reject']);
  assert.match(wrong.reason, /agrees with 0 of 2 labelled episode\(s\) \(0\.00 < 0\.75\)/);
});
