// ModelLane batching: a full batch is scored at once; otherwise windows are scored as soon as a turn of the
// event loop brings no new window (the input paused), long before max_wait_ms; while windows keep arriving turn
// after turn they wait for the batch to fill or for max_wait_ms.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Window } from '../../../src/core/types';
import type { ScoredWindow } from '../../../src/core/scoringModel';
import type { Detector } from '../../../src/model/detector';
import { ModelLane, type LaneOptions } from '../../../src/pipeline/modelLane';

function win(i: number): Window {
  return { stream: `s${i}`, start: i, end: i + 1, size: 1, channels: 1, values: Float32Array.of(i), completeness: 1 };
}

/** A detector that records the size of every batch it scores. */
function recording(): { detector: Detector; batches: number[] } {
  const batches: number[] = [];
  const score = (ws: readonly Window[]): ScoredWindow[] => {
    batches.push(ws.length);
    return ws.map((w) => ({ stream: w.stream, start: w.start, end: w.end, score: 0, threshold: 1, pValue: 1, anomalous: false, completeness: 1, channelShares: Float32Array.of(1) }));
  };
  return { detector: { score } as unknown as Detector, batches };
}

function lane(opts: Partial<LaneOptions> = {}): { lane: ModelLane; batches: number[]; scored: number[] } {
  const { detector, batches } = recording();
  const scored: number[] = [];
  const l = new ModelLane(
    'm',
    detector,
    { capacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 10_000, ...opts },
    (_m, windows) => void scored.push(...windows.map((w) => w.start)),
    (_m, _w, err) => assert.fail(String(err)),
  );
  return { lane: l, batches, scored };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void test('windows of one burst are scored together as soon as the input pauses, not after max_wait_ms', async () => {
  const { lane: l, batches, scored } = lane();
  for (let i = 0; i < 5; i++) void l.push(win(i));
  assert.deepEqual(batches, [], 'nothing is scored while the burst is being read');
  for (let k = 0; k < 3 && batches.length === 0; k++) await turn();
  assert.deepEqual(batches, [5], 'one batch with the whole burst');
  // Within three event-loop turns: the 10 s max_wait_ms timer cannot have fired, so the pause scored it (no
  // wall-clock check needed, none that a loaded machine could fail).
  assert.deepEqual(scored, [0, 1, 2, 3, 4]);
  l.stop();
});

void test('while every turn brings windows they wait for a full batch; a full batch is scored at once', async () => {
  const { lane: l, batches } = lane({ maxBatch: 8 });
  for (let i = 0; i < 20; i++) {
    void l.push(win(i));
    await turn();
  }
  // 20 windows, one per turn: full batches of 8, then the rest once the input pauses.
  for (let k = 0; k < 3; k++) await turn();
  assert.deepEqual(batches, [8, 8, 4]);
  l.stop();
});

void test('stop() cancels the pause check: nothing is scored afterwards', async () => {
  const { lane: l, batches } = lane();
  void l.push(win(1));
  l.stop();
  for (let k = 0; k < 3; k++) await turn();
  assert.deepEqual(batches, []);
  l.drain();
  assert.deepEqual(batches, [1]);
});
