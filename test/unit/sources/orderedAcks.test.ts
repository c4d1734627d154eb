// OrderedAcks: the synchronous fast path acknowledges at once and in order; a handler's promise (pipeline
// pushback) holds its own ack and every later message until it settles; refusals stay unacknowledged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderedAcks } from '../../../src/sources/orderedAcks';

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  fail(err: Error): void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every queued promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void test('fast path: a handler that returns nothing is acknowledged before push returns, in order', () => {
  const seen: number[] = [];
  const acked: string[] = [];
  const acks = new OrderedAcks<number>((m) => void seen.push(m));
  for (let i = 0; i < 5; i++) {
    acks.push(i, (err) => acked.push(err ? `refused ${i}` : `ack ${i}`));
    // Synchronous: no promise or microtask per message.
    assert.equal(acked.length, i + 1);
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.deepEqual(acked, ['ack 0', 'ack 1', 'ack 2', 'ack 3', 'ack 4']);
  assert.equal(acks.waiting, false);
});

void test('pushback: the ack waits for the promise, later messages are not handled before it resolved', async () => {
  const g = gate();
  const handled: number[] = [];
  const acked: number[] = [];
  const acks = new OrderedAcks<number>((m) => {
    handled.push(m);
    return m === 1 ? g.promise : undefined;
  });
  for (let i = 0; i < 4; i++) {
    acks.push(i, (err) => {
      assert.equal(err, undefined);
      acked.push(i);
    });
  }
  await settle();
  // Message 1 is not taken yet: neither it nor anything after it is acknowledged, 2 and 3 are not even handled.
  assert.deepEqual(handled, [0, 1]);
  assert.deepEqual(acked, [0]);
  assert.equal(acks.waiting, true);
  let idle = false;
  void acks.idle().then(() => (idle = true));
  await settle();
  assert.equal(idle, false, 'idle() must wait for the pending delivery');
  g.open();
  await settle();
  assert.deepEqual(handled, [0, 1, 2, 3]);
  assert.deepEqual(acked, [0, 1, 2, 3]);
  assert.equal(idle, true);
  assert.equal(acks.waiting, false, 'the fast path opens again once the queue is empty');
  // And it is synchronous again.
  acks.push(4, () => void acked.push(4));
  assert.deepEqual(acked, [0, 1, 2, 3, 4]);
});

void test('order across the switch: messages pushed while one waits keep order, even when one of them also waits', async () => {
  const gates = new Map<number, Gate>([[2, gate()], [5, gate()]]);
  const handled: number[] = [];
  const acked: number[] = [];
  const acks = new OrderedAcks<number>((m) => {
    handled.push(m);
    return gates.get(m)?.promise;
  });
  for (let i = 0; i < 8; i++) acks.push(i, () => void acked.push(i));
  await settle();
  assert.deepEqual(acked, [0, 1]);
  gates.get(2)?.open();
  await settle();
  assert.deepEqual(handled, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(acked, [0, 1, 2, 3, 4]);
  gates.get(5)?.open();
  await acks.idle();
  assert.deepEqual(handled, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(acked, [0, 1, 2, 3, 4, 5, 6, 7]);
});

void test('refusals: a throwing handler or a rejected promise leaves that message unacknowledged, later ones go on', async () => {
  const g = gate();
  const results: string[] = [];
  const refused: string[] = [];
  const acks = new OrderedAcks<number>(
    (m) => {
      if (m === 1) throw new Error('pipeline stopping');
      if (m === 3) return g.promise;
      return undefined;
    },
    (m, err) => refused.push(`${m}: ${err.message}`),
  );
  for (let i = 0; i < 5; i++) acks.push(i, (err) => results.push(err ? `${i} refused (${err.message})` : `${i} ack`));
  assert.deepEqual(results, ['0 ack', '1 refused (pipeline stopping)', '2 ack']);
  g.fail(new Error('disk full'));
  await acks.idle();
  assert.deepEqual(results, ['0 ack', '1 refused (pipeline stopping)', '2 ack', '3 refused (disk full)', '4 ack']);
  assert.deepEqual(refused, ['1: pipeline stopping', '3: disk full']);
});

void test('an ack that throws while messages queue does not stall the ones behind it', async () => {
  const g = gate();
  const acked: number[] = [];
  const acks = new OrderedAcks<number>((m) => (m === 0 ? g.promise : undefined));
  acks.push(0, () => {
    throw new Error('broken ack');
  });
  acks.push(1, () => void acked.push(1));
  g.open();
  await acks.idle();
  assert.deepEqual(acked, [1]);
});

void test('idle() resolves at once when nothing waits', async () => {
  const acks = new OrderedAcks<number>(() => undefined);
  acks.push(1, () => undefined);
  await acks.idle();
});
