import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedbackBook, reviveFeedback, type AlertFeedback } from '../../../src/core/feedback';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-10T00:00:00Z');
const label = (stream: string, startsAt: number, l: AlertFeedback['label'], fingerprint = `fp-${stream}`): AlertFeedback => ({
  fingerprint, stream, kind: 'anomaly', startsAt, endsAt: startsAt + 60_000, label: l, note: '', who: 'admin', at: NOW,
});

test('one label per episode: labelling it again replaces the label; another episode of the alert is its own', () => {
  const book = new FeedbackBook();
  assert.equal(book.set(label('s', NOW - DAY, 'true_positive')), undefined);
  assert.equal(book.set(label('s', NOW - DAY, 'false_positive'))?.label, 'true_positive');
  book.set(label('s', NOW - 2 * DAY, 'true_positive'));
  assert.equal(book.size, 2);
  assert.equal(book.get('fp-s', NOW - DAY)?.label, 'false_positive');
  assert.deepEqual(book.list().map((f) => f.startsAt), [NOW - DAY, NOW - 2 * DAY], 'newest episode first');
});

test('precision per stream over the labelled episodes of the last 30 days', () => {
  const book = new FeedbackBook();
  book.set(label('a', NOW - 1 * DAY, 'true_positive'));
  book.set(label('a', NOW - 2 * DAY, 'true_positive'));
  book.set(label('a', NOW - 3 * DAY, 'true_positive'));
  book.set(label('a', NOW - 4 * DAY, 'false_positive'));
  book.set(label('a', NOW - 40 * DAY, 'false_positive'));
  book.set(label('b', NOW - 5 * DAY, 'false_positive'));
  const p = book.precision(NOW);
  assert.deepEqual(p.get('a'), { truePositives: 3, falsePositives: 1, precision: 0.75 });
  assert.deepEqual(p.get('b'), { truePositives: 0, falsePositives: 1, precision: 0 });
  assert.equal(p.has('c'), false);
});

test('the book is bounded: beyond its size the episode that started first loses its label', () => {
  const book = new FeedbackBook(3);
  for (const d of [5, 1, 9, 3]) book.set(label('s', NOW - d * DAY, 'true_positive'));
  assert.deepEqual(book.list().map((f) => (NOW - f.startsAt) / DAY), [1, 3, 5]);
});

test('saved labels are read back field by field; anything else is refused', () => {
  const f = label('s', NOW, 'false_positive');
  assert.deepEqual(reviveFeedback(JSON.parse(JSON.stringify(f))), f);
  assert.equal(reviveFeedback({ ...f, label: 'maybe' }), null);
  assert.equal(reviveFeedback({ ...f, startsAt: '2026' }), null);
  assert.equal(reviveFeedback(null), null);
});
