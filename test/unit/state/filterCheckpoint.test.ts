// The score filters' checkpoint file: every stream's state reads back exactly (history, recent scores, the seen
// range with its infinities, no detection yet); a damaged entry is counted and left out, not the whole file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFilterStates, encodeFilterStates, FilterStateCapture } from '../../../src/state/filterCheckpoint';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import type { ScoreFilterState, StreamScoreFilter } from '../../../src/core/scoreFilter';

const A: ScoreFilterState = {
  sinceDetection: 3,
  range: { lo: Float64Array.of(-1.5, Infinity), hi: Float64Array.of(2.25, -Infinity) },
  scales: [
    { history: Float64Array.of(0.1, 0.2, 1 / 3), recent: Float64Array.of(1 / 3), sums: Float64Array.of(0.6333333333333333, 0.16111, 1 / 3, 3) },
    { history: new Float64Array(0), recent: new Float64Array(0) },
  ],
};
const B: ScoreFilterState = { sinceDetection: null, scales: [] };

test('filter states read back exactly, per stream', () => {
  const bytes = encodeFilterStates((add) => {
    add('line7/pump7', A);
    add('a "quoted"\\ id', B);
  });
  const { states, damaged } = decodeFilterStates(bytes);
  assert.equal(damaged, 0);
  assert.deepEqual(states.get('line7/pump7'), A);
  assert.deepEqual(states.get('a "quoted"\\ id'), B);
});

test('a damaged entry is counted and skipped; a file of another format is refused', () => {
  const text = encodeFilterStates((add) => add('ok', A)).toString('utf8').replace('"filters":{', '"filters":{"bad":{"s":-1,"h":[]},"worse":{"s":0,"h":[["AAA",""]]},');
  const { states, damaged } = decodeFilterStates(Buffer.from(text));
  assert.deepEqual([...states.keys()], ['ok']);
  assert.equal(damaged, 2);
  assert.throws(() => decodeFilterStates(Buffer.from('{"format":9,"filters":{}}')), /format 9/);
});

test('the capture encodes again only filters that changed, and a new filter for a stream, and drops streams no longer bound', () => {
  const options = { averageWindows: 2, historyWindows: 20, learningWindows: 5, threshold: 0.5, suppressWindows: 0, rangeTolerance: 0.05 };
  const feed = (l: AnomalyLikelihood, score: number): void => void l.filter({ time: 0, score, threshold: 1, pValue: 1, anomalous: false, window: { values: [score], channels: 1 } });
  const a = new AnomalyLikelihood(options);
  const b = new AnomalyLikelihood(options);
  feed(a, 1);
  feed(b, 2);
  const capture = new FilterStateCapture();
  let snapshots = 0;
  const counted = (l: AnomalyLikelihood): StreamScoreFilter => ({ filter: (o) => l.filter(o), snapshot: () => (snapshots++, l.snapshot()), get revision() { return l.revision; } });
  const fa = counted(a);
  const fb = counted(b);
  capture.capture((visit) => (visit('a', fa), visit('b', fb)));
  assert.equal(snapshots, 2);
  feed(a, 3);
  const second = decodeFilterStates(capture.capture((visit) => (visit('a', fa), visit('b', fb))));
  assert.equal(snapshots, 3, 'only the changed one');
  assert.deepEqual(second.states.get('a'), a.snapshot());
  assert.deepEqual(second.states.get('b'), b.snapshot());
  const third = decodeFilterStates(capture.capture((visit) => visit('b', counted(b))));
  assert.equal(snapshots, 4, 'a new filter object is encoded');
  assert.deepEqual([...third.states.keys()], ['b']);
});
