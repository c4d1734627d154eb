// The shadow lane with a scorer of plain arithmetic: its scores go out as anomaly_shadow_score points with the
// version, its would-be alerts are counted and written as anomaly_shadow_alert points but never reach a
// sink's writeAlert, live episodes are counted once each, and a full queue drops and counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShadowScoring } from '../../../src/app/modelVersionsShadow';
import { loadConfigText } from '../../../src/config/load';
import type { ScoredWindow, ScoringModel } from '../../../src/core/scoringModel';
import type { EventPoint, Sink } from '../../../src/core/sink';
import type { Window } from '../../../src/core/types';
import { testContext } from '../../helpers/context';
import { notice } from '../../helpers/notices';

const T = Date.parse('2026-12-10T05:00:00Z');
const CONFIG = loadConfigText(
  ['http: { enabled: false }', 'mqtt: { url: "mqtt://127.0.0.1:1" }', 'defaults:', '  alerting: { k: 2, n: 3, reset_windows: 2, keep_firing_for_ms: 0 }', 'subscriptions:', '  - { topic: a/+, template: "a/{id}", stream: "{id}", decoder: json, model: auto, channels: [x] }'].join('\n'),
  'shadow.yaml',
  {},
);

/** Scores a window by its first value; above 1 is anomalous. */
const scorer: ScoringModel = {
  dir: '/models/pump-v2',
  manifest: { architecture: { inputSize: 1 }, window: { size: 1 }, channels: ['x'] },
  score: (windows: readonly Window[]): ScoredWindow[] =>
    windows.map((w) => ({ stream: w.stream, start: w.start, end: w.end, score: w.values[0], threshold: 1, pValue: w.values[0] > 1 ? 0.001 : 0.5, anomalous: w.values[0] > 1, completeness: 1, channelShares: new Float32Array([1]) })),
  readings: () => ({ of: () => undefined }),
};

function win(stream: string, i: number, value: number): Window {
  return { stream, start: T + i * 1000, end: T + i * 1000, size: 1, channels: 1, values: new Float32Array([value]), completeness: 1 };
}

function rig(capacity = 1000): { shadow: ShadowScoring; events: EventPoint[]; alerts: unknown[]; counts: Record<string, number> } {
  const events: EventPoint[] = [];
  const alerts: unknown[] = [];
  const counts: Record<string, number> = { scored: 0, dropped: 0, wouldFire: 0 };
  const sink: Sink = {
    name: 'capture', start: () => Promise.resolve(), flush: () => Promise.resolve(), stop: () => Promise.resolve(), stats: () => ({ buffered: 0, spooledBytes: 0 }),
    writeEvent: (p) => events.push(p),
    writeAlert: (n) => alerts.push(n),
    writeScores: () => assert.fail('shadow scores are not live scores'),
  };
  const shadow = new ShadowScoring({
    log: testContext('shadow').ctx.log,
    lane: { capacity, maxBatch: 64, maxWaitMs: 5 },
    sinks: () => [sink],
    detectionOf: () => CONFIG.defaults,
    counters: { scored: (_m, n) => (counts['scored'] += n), dropped: (_m, n) => (counts['dropped'] += n), wouldFire: () => counts['wouldFire']++ },
    now: () => T,
  });
  return { shadow, events, alerts, counts };
}

test('shadow scores are written with their version; its would-be episode is counted and written, never sent as an alert', () => {
  const { shadow, events, alerts, counts } = rig();
  shadow.offer('pump', [win('l1/p1', 0, 0.2)]);
  assert.equal(counts['scored'], 0, 'no shadow: nothing is taken');
  shadow.set('pump', 'v2', scorer, T);
  const values = [0.2, 3, 3, 3, 0.1, 0.1, 0.1];
  shadow.offer('pump', values.map((v, i) => win('l1/p1', i, v)));
  shadow.stop();
  assert.equal(counts['scored'], 7);
  const scores = events.filter((e) => e.kind === 'shadow_score');
  assert.equal(scores.length, 7);
  assert.deepEqual(scores[1].tags, { stream: 'l1/p1', model: 'pump', model_version: 'v2' });
  assert.deepEqual([scores[1].fields['score'], scores[1].fields['anomalous']], [3, true]);
  const wouldBe = events.filter((e) => e.kind === 'shadow_alert');
  assert.deepEqual(wouldBe.map((e) => e.fields['state']), ['firing', 'resolved']);
  assert.equal(counts['wouldFire'], 1);
  assert.equal(alerts.length, 0, 'a would-be alert reaches no writeAlert');
  const record = shadow.record('pump');
  assert.deepEqual(record?.episodes, [{ stream: 'l1/p1', start: T + 2000, end: T + 5000 }]);
  assert.equal(record?.windows, 7);
});

test('live anomaly episodes are counted once each (an escalation is the same episode), only while a shadow runs and from its start', () => {
  const { shadow } = rig();
  shadow.set('pump', 'v2', scorer, T);
  shadow.observeLive(notice({ fingerprint: 'a', model: 'pump', startsAt: T + 1000 }));
  shadow.observeLive(notice({ fingerprint: 'a', model: 'pump', startsAt: T + 1000, severity: 'critical' }));
  shadow.observeLive(notice({ fingerprint: 'b', model: 'pump', startsAt: T - 1000 }));
  shadow.observeLive(notice({ fingerprint: 'c', model: 'other', startsAt: T + 1000 }));
  shadow.observeLive(notice({ fingerprint: 'd', model: 'pump', kind: 'ingestion_stalled', startsAt: T + 1000 }));
  assert.equal(shadow.record('pump')?.liveEpisodes, 1);
  shadow.set('pump', null, null);
  assert.equal(shadow.record('pump'), undefined);
});

test('a full shadow queue drops and counts instead of waiting', () => {
  const { shadow, counts } = rig(4);
  shadow.set('pump', 'v2', scorer, T);
  shadow.offer('pump', Array.from({ length: 10 }, (_, i) => win('l1/p1', i, 0.1)));
  assert.equal(counts['dropped'], 6);
  assert.equal(shadow.record('pump')?.dropped, 6);
  shadow.stop();
  assert.equal(counts['scored'], 4);
});

test('saved counts continue a restarted shadow of the same version (an open episode closed where they were taken); counts restart when the live version changes', () => {
  const { shadow } = rig();
  shadow.set('pump', 'v2', scorer, T);
  shadow.offer('pump', [0.2, 3, 3].map((v, i) => win('l1/p1', i, v)));
  shadow.observeLive(notice({ fingerprint: 'a', model: 'pump', startsAt: T + 1000 }));
  shadow.stop();
  const saved = shadow.stats('pump');
  assert.deepEqual([saved?.windows, saved?.liveEpisodes, saved?.episodes], [3, 1, [{ stream: 'l1/p1', start: T + 2000, end: null }]]);

  const again = rig().shadow;
  again.set('pump', 'v2', scorer, T + 50_000, saved);
  const record = again.record('pump');
  assert.deepEqual([record?.since, record?.windows, record?.liveEpisodes, record?.episodes], [T, 3, 1, [{ stream: 'l1/p1', start: T + 2000, end: T }]]);
  again.set('pump', 'v3', scorer, T + 50_000, saved);
  assert.deepEqual([again.record('pump')?.since, again.record('pump')?.windows], [T + 50_000, 0], 'counts of another version are not taken');
  again.set('pump', 'v2', scorer, T, saved);
  again.restartCounts('pump');
  assert.deepEqual([again.record('pump')?.windows, again.record('pump')?.episodes.length], [0, 0]);
});
