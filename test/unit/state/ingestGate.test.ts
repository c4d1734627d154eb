// The ingest gate's group commit: batches delivered in one turn are delivered at once and written to the
// journal in one group at the end of the turn (or when the source asks before its acks); a commit that cannot
// write (a full disk: the journal file is /dev/full) reports false, so the acks are held, and pauses input until
// a commit succeeds (recovery once space returns: test/integration/faultsStorage.test.ts).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { IngestGate } from '../../../src/state/ingestGate';
import { JOURNAL_MAGIC } from '../../../src/state/sampleCodec';
import { SampleJournal } from '../../../src/state/sampleJournal';
import type { Sink } from '../../../src/sinks/sink';
import type { StreamSamples } from '../../../src/sources/source';
import { testContext } from '../../helpers/context';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-gate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const batch = (i: number): StreamSamples => ({
  stream: `line1/pump${i}`,
  subscription: 0,
  labels: { line: 'line1', asset: `pump${i}` },
  samples: [{ ts: 1_700_000_000_000 + i, values: Float32Array.from([i, 1, 2]) }],
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function gate(journal: SampleJournal): IngestGate {
  return new IngestGate({ ctx: testContext('ingest').ctx, journal, sinks: () => [] });
}

void test('one turn of deliveries is delivered at once and written as one group at the end of the turn', async () => {
  const jdir = path.join(dir, 'a');
  const journal = new SampleJournal(jdir);
  await journal.open(0);
  const g = gate(journal);
  const delivered: string[] = [];
  const deliver = g.guard((b) => {
    delivered.push(b.stream);
  });
  for (let i = 0; i < 3; i++) assert.equal(deliver(batch(i)), undefined, 'synchronous: no promise per message');
  assert.deepEqual(delivered, ['line1/pump0', 'line1/pump1', 'line1/pump2']);
  assert.equal(journal.uncommitted, 3, 'nothing written yet');
  await turn();
  assert.equal(journal.uncommitted, 0);
  const [file] = (await readdir(jdir)).sort();
  const bytes = await readFile(path.join(jdir, file));
  assert.deepEqual(bytes.subarray(0, JOURNAL_MAGIC.length), JOURNAL_MAGIC);
  const payloadLength = bytes.readUInt32LE(JOURNAL_MAGIC.length);
  assert.equal(JOURNAL_MAGIC.length + 8 + payloadLength, bytes.length, 'one frame holds the three batches');
  journal.close();
  const back = await new SampleJournal(jdir).open(0);
  assert.deepEqual(back.batches.map((b) => b.stream), delivered);
});

void test('a commit that cannot write holds the acks (false) and pauses input; each batch is kept once', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async () => {
  const jdir = path.join(dir, 'b');
  const journal = new SampleJournal(jdir);
  await journal.open(0);
  // The next generation is a full disk.
  await symlink('/dev/full', path.join(jdir, '000000000002.journal'));
  journal.rotate();
  const g = gate(journal);
  const delivered: string[] = [];
  const deliver = g.guard((b) => {
    delivered.push(b.stream);
  });
  assert.equal(deliver(batch(1)), undefined);
  assert.equal(g.commit(), false, 'the source must not acknowledge');
  assert.match(g.check().detail ?? '', /Disk full: cannot write the sample journal/);
  // Input now waits (the message stays unacknowledged) instead of being delivered unsaved.
  const later = deliver(batch(2));
  assert.ok(later instanceof Promise);
  assert.equal(g.paused, true);
  assert.deepEqual(delivered, ['line1/pump1']);
  assert.equal(g.commit(), false, 'still full: the acks stay held');
  // Stopping gives the waiting delivery up: it rejects (its message stays at the broker), never delivered unsaved.
  g.close();
  await assert.rejects(later, /stopping/);
  assert.deepEqual(delivered, ['line1/pump1']);
  assert.equal(journal.uncommitted, 2, 'both kept for a later commit, each once');
  journal.close();
});

void test('the sinks in force are asked for once per turn, and a swapped list is asked from the next turn on', async () => {
  const jdir = path.join(dir, 'sinks');
  const journal = new SampleJournal(jdir);
  await journal.open(0);
  let lists = 0;
  const sink = (name: string, admission: Sink['admission']): Sink => {
    const done = (): Promise<void> => Promise.resolve();
    return { name, start: done, stop: done, flush: done, stats: () => ({ buffered: 0, spooledBytes: 0 }), admission };
  };
  let current: Sink[] = [sink('open', () => null)];
  const g = new IngestGate({ ctx: testContext('ingest').ctx, journal, sinks: () => (lists++, current) });
  const deliver = g.guard(() => undefined);
  for (let i = 0; i < 5; i++) assert.equal(deliver(batch(i)), undefined);
  assert.equal(lists, 1, 'one list for the whole turn');
  let release: () => void = () => undefined;
  const ready = new Promise<void>((r) => (release = r));
  let full = true;
  // A reload swaps in a sink that asks to hold input back.
  current = [sink('full', () => (full ? { reason: 'full', failure: false, ready } : null))];
  await turn();
  const held = deliver(batch(9));
  assert.ok(held instanceof Promise, 'the next turn asks the new sinks, which hold input back');
  full = false;
  release();
  await held;
  journal.close();
});
