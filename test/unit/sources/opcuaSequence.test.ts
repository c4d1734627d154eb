import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceGate } from '../../../src/sources/opcuaSequence';

interface Msg {
  readonly sequenceNumber: number;
}

function gate(server: Map<number, Msg>) {
  const delivered: number[] = [];
  const lost: number[] = [];
  const asked: number[] = [];
  const g = new SequenceGate<Msg>({
    deliver: (m) => delivered.push(m.sequenceNumber),
    republish: (seq) => {
      asked.push(seq);
      return Promise.resolve(server.get(seq) ?? null);
    },
    lost: (seq) => lost.push(seq),
    graceMs: 5,
  });
  return { g, delivered, lost, asked };
}
const m = (sequenceNumber: number): Msg => ({ sequenceNumber });
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 60));

describe('SequenceGate', () => {
  it('hands messages on in sequence order when republished ones arrive among new ones', async () => {
    const { g, delivered, asked } = gate(new Map());
    for (const seq of [24, 30, 25, 31, 26, 32, 27, 28, 33, 29, 34]) g.push(m(seq));
    await settle();
    assert.deepEqual(delivered, [24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
    assert.deepEqual(asked, [], 'nothing asked for: every gap filled itself within the grace time');
  });

  it('asks the server again for a message nobody republished, and reports one it no longer has', async () => {
    const { g, delivered, lost, asked } = gate(new Map([[27, m(27)]]));
    for (const seq of [25, 26, 29, 30]) g.push(m(seq));
    await settle();
    assert.deepEqual(asked, [27, 28]);
    assert.deepEqual(lost, [28]);
    assert.deepEqual(delivered, [25, 26, 27, 29, 30]);
  });

  it('drops a repeat of a message already handed on, and starts over with a subscription the server created anew', async () => {
    const { g, delivered } = gate(new Map());
    for (const seq of [5, 6, 6, 5, 1, 2]) g.push(m(seq));
    await settle();
    assert.deepEqual(delivered, [5, 6, 1, 2]);
  });
  it('lets a gap being filled close before the source stops', async () => {
    const { g, delivered, lost } = gate(new Map([[12, m(12)]]));
    for (const seq of [10, 11, 13]) g.push(m(seq));
    await g.settled(1_000);
    g.flush();
    assert.deepEqual(delivered, [10, 11, 12, 13]);
    assert.deepEqual(lost, []);
  });

  it('hands on what it holds when the source stops, the missing ones counted lost, and then takes nothing more', async () => {
    const { g, delivered, lost } = gate(new Map());
    for (const seq of [10, 11, 13, 15]) g.push(m(seq));
    assert.deepEqual(delivered, [10, 11]);
    g.flush();
    assert.deepEqual(delivered, [10, 11, 13, 15]);
    assert.deepEqual(lost, [12, 14]);
    g.push(m(16));
    await settle();
    assert.deepEqual(delivered, [10, 11, 13, 15], 'closed');
  });
});
