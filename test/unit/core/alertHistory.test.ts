import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertHistory, parseHistory } from '../../../src/core/alertHistory';
import { notice } from '../../helpers/notices';

const T = 1_700_000_000_000;

test('an episode runs from its firing notice to its resolve, with the highest severity, score and its channels', () => {
  const h = new AlertHistory();
  h.record(notice({ severity: 'warning', startsAt: T, score: 0.8, topChannels: [{ channel: 'vib_x', share: 0.7 }] }));
  assert.equal(h.list()[0].endsAt, null, 'firing: no end yet');
  h.observeScore('line1/pump1', 1.5, 0.5); // a later window of the episode scores higher
  assert.equal(h.list()[0].peakScore, 1.5);
  h.observeScore('line1/pump2', 9, 0.5); // another stream: not this episode
  h.record(notice({ severity: 'critical', startsAt: T, score: 2, threshold: 0.6, topChannels: [{ channel: 'current', share: 0.9 }] }));
  h.observeScore('line1/pump1', 1.9, 0.6); // below the peak
  h.record(notice({ status: 'resolved', startsAt: T, endsAt: T + 60_000, score: 0.1, topChannels: [] }));
  h.observeScore('line1/pump1', 5, 0.5); // after the resolve: not part of it
  const [e] = h.list();
  assert.equal(h.list().length, 1);
  assert.equal(e.startsAt, T);
  assert.equal(e.endsAt, T + 60_000);
  assert.equal(e.severity, 'critical');
  assert.equal(e.peakScore, 2);
  assert.equal(e.threshold, 0.6);
  assert.deepEqual(e.topChannels, [{ channel: 'current', share: 0.9 }], 'channels of the notice with the highest score');
  assert.equal(e.alertname, 'AnomalyDetected');
});

test('the history keeps the newest episodes up to its size, newest first', () => {
  const h = new AlertHistory(3);
  for (let i = 0; i < 5; i++) {
    h.record(notice({ fingerprint: `f${i}`, stream: `s${i}`, startsAt: T + i }));
    h.record(notice({ fingerprint: `f${i}`, stream: `s${i}`, status: 'resolved', startsAt: T + i, endsAt: T + i + 1 }));
  }
  assert.deepEqual(h.list().map((e) => e.stream), ['s4', 's3', 's2']);
});

test('a new episode of the same alert after a resolve is a second entry', () => {
  const h = new AlertHistory();
  h.record(notice({ startsAt: T }));
  h.record(notice({ status: 'resolved', startsAt: T, endsAt: T + 10 }));
  h.record(notice({ startsAt: T + 100 }));
  const list = h.list();
  assert.deepEqual(list.map((e) => [e.startsAt, e.endsAt]), [[T + 100, null], [T, T + 10]]);
});

test('alerts that are not about scores have no peak; sensor alerts keep the channels at fault', () => {
  const h = new AlertHistory();
  h.record(notice({ fingerprint: 'st', kind: 'ingestion_stalled', score: 0, topChannels: [] }));
  h.record(notice({ fingerprint: 'fl', kind: 'sensor_flatline', score: 0, topChannels: [{ channel: 'temp', share: 1 }] }));
  h.observeScore('line1/pump1', 3, 1);
  const byKind = new Map(h.list().map((e) => [e.kind, e]));
  assert.equal(byKind.get('ingestion_stalled')?.peakScore, null);
  assert.equal(byKind.get('ingestion_stalled')?.alertname, 'IngestionStalled');
  assert.deepEqual(byKind.get('sensor_flatline')?.topChannels, [{ channel: 'temp', share: 1 }]);
});

test('a resolve whose firing notice the history never saw is still listed, with its reason', () => {
  const h = new AlertHistory();
  h.record(notice({ status: 'resolved', startsAt: T, endsAt: T + 5, reason: 'stream no longer configured' }));
  const [e] = h.list();
  assert.equal(e.endsAt, T + 5);
  assert.equal(e.peakScore, null);
  assert.equal(e.resolveReason, 'stream no longer configured');
});

test('saved and loaded, the history is the same, a firing episode still takes its resolve', () => {
  const h = new AlertHistory();
  h.record(notice({ fingerprint: 'a', stream: 'a', startsAt: T }));
  h.record(notice({ fingerprint: 'a', stream: 'a', status: 'resolved', startsAt: T, endsAt: T + 1 }));
  h.record(notice({ fingerprint: 'b', stream: 'b', startsAt: T + 2, score: 2 }));
  const saved = JSON.parse(JSON.stringify(h)) as unknown;
  const loaded = new AlertHistory();
  loaded.load(parseHistory(saved).episodes);
  assert.deepEqual(loaded.list(), h.list());
  loaded.observeScore('b', 3, 0.5);
  loaded.record(notice({ fingerprint: 'b', stream: 'b', status: 'resolved', startsAt: T + 2, endsAt: T + 9 }));
  assert.deepEqual(loaded.list().map((e) => [e.stream, e.endsAt, e.peakScore]), [['b', T + 9, 3], ['a', T + 1, 0.9]]);
  assert.ok(loaded.changes > 0);
});

test('damaged saved entries are skipped one by one; a file that is no history at all is refused', () => {
  const h = new AlertHistory();
  h.record(notice({ startsAt: T }));
  const good = (JSON.parse(JSON.stringify(h)) as { episodes: unknown[] }).episodes[0];
  const parsed = parseHistory({ format: 1, episodes: [good, { ...(good as object), startsAt: 'yesterday' }, null, { ...(good as object), kind: 'bogus' }, { ...(good as object), topChannels: [{ channel: 1 }] }] });
  assert.equal(parsed.episodes.length, 1);
  assert.equal(parsed.skipped, 4);
  assert.throws(() => parseHistory({ format: 2, episodes: [] }), /format 1/);
  assert.throws(() => parseHistory([]), /format 1/);
  assert.throws(() => parseHistory({ format: 1, episodes: 'x' }), /episodes: must be a list/);
});

test('changes counts every change, so a saver knows when to write', () => {
  const h = new AlertHistory();
  const c0 = h.changes;
  h.observeScore('line1/pump1', 5, 1); // nothing firing: no change
  assert.equal(h.changes, c0);
  h.record(notice({ startsAt: T, score: 1 }));
  const c1 = h.changes;
  assert.ok(c1 > c0);
  h.observeScore('line1/pump1', 0.5, 1); // below the peak: no change
  assert.equal(h.changes, c1);
  h.observeScore('line1/pump1', 2, 1);
  assert.ok(h.changes > c1);
});
