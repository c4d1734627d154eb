// The score filters' checkpoint log: bases and deltas read back as every filter's snapshot of the checkpoint, bit
// for bit, across compactions; a torn record, a crash before state.json and a forgotten stream; the bytes a
// delta costs; the JSON file of the version before.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { decodeFilterStates, FilterStateCapture, readFilterStates, SavedFilterStates } from '../../../src/state/filterCheckpoint';
import { StateStore } from '../../../src/state/stateStore';
import { AnomalyLikelihood, type LikelihoodOptions } from '../../../src/core/anomalyLikelihood';
import { createRng } from '../../../src/core/random';
import type { ScoreFilterState, StreamScoreFilter } from '../../../src/core/scoreFilter';
import { testContext } from '../../helpers/context';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'anomalyd-filterlog-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): Promise<string> {
  return mkdtemp(path.join(root, 'd-'));
}

type Visit = (stream: string, filter: StreamScoreFilter) => void;

/** A set of streams' filters, captured checkpoint by checkpoint the way StateStore drives a part. */
class Harness {
  readonly filters = new Map<string, StreamScoreFilter>();
  readonly capture: FilterStateCapture;
  generation = 0;

  constructor(
    readonly dir: string,
    maxDeltas?: number,
  ) {
    this.capture = new FilterStateCapture(dir, (visit: Visit) => this.filters.forEach((f, s) => visit(s, f)), maxDeltas);
  }

  /** One checkpoint written and named; returns its generation and the bytes of its file. */
  async checkpoint(): Promise<{ generation: number; bytes: number }> {
    const generation = ++this.generation;
    const w = this.capture.capture(generation);
    await w.write();
    w.named();
    await w.removeStale();
    return { generation, bytes: (await stat(path.join(this.dir, `filters-${generation}.bin`))).size };
  }

  snapshots(): Map<string, ScoreFilterState> {
    const out = new Map<string, ScoreFilterState>();
    for (const [s, f] of this.filters) {
      const snap = f.snapshot?.();
      if (snap) out.set(s, snap);
    }
    return out;
  }
}

function feed(l: StreamScoreFilter, score: number, other: number | undefined, level: number): string {
  const o = l.filter({ time: 0, score, threshold: 1, pValue: 1, anomalous: false, window: { values: [level, level * 2], channels: 2 }, ...(other !== undefined ? { otherScales: [other] } : {}) });
  return `${o.score}/${o.pValue}/${o.anomalous}`;
}

const OPTIONS: LikelihoodOptions = { averageWindows: 4, historyWindows: 30, learningWindows: 8, threshold: 0.5, suppressWindows: 3, rangeTolerance: 0.05 };

test('many checkpoints with compactions between read back as every filter\'s snapshot, bit for bit, and restored filters decide the next windows as the originals', async () => {
  const h = new Harness(await freshDir(), 6);
  const rng = createRng(42);
  // Recent scores longer than the history: a delta past a full history writes them whole.
  const settings = [OPTIONS, { ...OPTIONS, averageWindows: 40, historyWindows: 12, learningWindows: 4 }, { ...OPTIONS, rangeTolerance: 0 }];
  for (let i = 0; i < 12; i++) h.filters.set(`line1/pump${i}`, new AnomalyLikelihood(settings[i % settings.length]));
  let kinds = '';
  let next = 12;
  for (let round = 0; round < 40; round++) {
    for (const [stream, f] of h.filters) {
      // Nothing, a window, a few, or more than the history holds (a long gap between checkpoints).
      const n = [0, 1, 1, 3, 45][Math.floor(rng() * 5)];
      const coarse = stream.endsWith('1') || round > 20;
      for (let k = 0; k < n; k++) feed(f, rng() < 0.05 ? 5 : rng(), coarse ? rng() * 2 : undefined, 10 + rng() * (round + 1));
    }
    if (round === 10) h.filters.delete('line1/pump3'); // evicted
    if (round === 12) h.filters.set(`line1/pump${next++}`, new AnomalyLikelihood(OPTIONS)); // new
    if (round === 15) h.filters.set('line1/pump4', new AnomalyLikelihood({ ...OPTIONS, historyWindows: 50 })); // reloaded with new settings
    if (round === 18) {
      // Restored (from another filter's state): no delta spans it.
      const f = h.filters.get('line1/pump5') as AnomalyLikelihood;
      f.restore((h.filters.get('line1/pump6') as AnomalyLikelihood).snapshot());
    }
    if (round === 22) (h.filters.get('line1/pump7') as AnomalyLikelihood).seedRange([-100, -100], [100, 100]);
    const { generation } = await h.checkpoint();
    const file = await readFile(path.join(h.dir, `filters-${generation}.bin`));
    kinds += file[16] === 0 ? 'B' : 'd';
    const read = await readFilterStates(h.dir, generation);
    assert.ok(read);
    assert.equal(read.damaged, 0);
    assert.deepEqual(read.states, h.snapshots(), `checkpoint ${generation}`);
  }
  assert.match(kinds, /^Bd+B.*B/, `bases between deltas: ${kinds}`);
  // Files before the last base are gone.
  const left = (await readdir(h.dir)).filter((n) => n.endsWith('.bin')).map((n) => Number(/\d+/.exec(n)?.[0]));
  assert.equal(Math.min(...left), kinds.lastIndexOf('B') + 1);
  // The restored filters go on exactly as the originals.
  const read = await readFilterStates(h.dir, h.generation);
  assert.ok(read);
  for (const [stream, f] of h.filters) {
    const i = Number(/\d+$/.exec(stream)?.[0]);
    const restored = new AnomalyLikelihood(stream === 'line1/pump4' ? { ...OPTIONS, historyWindows: 50 } : i >= 12 ? OPTIONS : settings[i % settings.length]);
    restored.restore(read.states.get(stream) as ScoreFilterState);
    const r2 = createRng(i);
    const inputs = Array.from({ length: 60 }, () => [r2() < 0.1 ? 4 : r2(), r2(), 10 + r2() * 50] as const);
    const a = inputs.map(([s, o, l]) => feed(f, s, o, l));
    const b = inputs.map(([s, o, l]) => feed(restored, s, o, l));
    assert.deepEqual(b, a, stream);
  }
});

test('a filter whose revision did not change writes nothing; one without marks is written whole when it changed', async () => {
  const h = new Harness(await freshDir());
  const a = new AnomalyLikelihood(OPTIONS);
  let snapshots = 0;
  let marks = 0;
  // A filter of another kind: snapshots, no deltas.
  const other: StreamScoreFilter = { filter: (o) => a.filter(o), snapshot: () => (snapshots++, a.snapshot()), get revision() { return a.revision; } };
  const b = new AnomalyLikelihood(OPTIONS);
  const counted: StreamScoreFilter = { filter: (o) => b.filter(o), snapshot: () => b.snapshot(), mark: () => (marks++, b.mark()), changesSince: (m) => b.changesSince(m), get revision() { return b.revision; } };
  h.filters.set('other', other);
  h.filters.set('likelihood', counted);
  feed(other, 1, undefined, 1);
  feed(counted, 1, undefined, 1);
  await h.checkpoint();
  assert.deepEqual([snapshots, marks], [1, 1]);
  const quiet = await h.checkpoint();
  assert.deepEqual([snapshots, marks], [1, 1], 'nothing changed: nothing asked');
  feed(other, 2, undefined, 1);
  await h.checkpoint();
  assert.deepEqual([snapshots, marks], [2, 1], 'the changed one, whole');
  feed(counted, 2, undefined, 1);
  await h.checkpoint();
  assert.equal(snapshots, 2, 'a delta, not a snapshot');
  assert.equal(marks, 2);
  const read = await readFilterStates(h.dir, h.generation);
  assert.deepEqual(read?.states, h.snapshots());
  assert.ok(quiet.bytes < 64, `an empty delta is a header: ${quiet.bytes} bytes`);
});

test('1,000 streams that scored one window each: the delta is a small fraction of the whole state', async () => {
  const h = new Harness(await freshDir());
  const options: LikelihoodOptions = { averageWindows: 10, historyWindows: 864, learningWindows: 288, threshold: 0.5, suppressWindows: 10, rangeTolerance: 0.05 };
  const rng = createRng(3);
  for (let i = 0; i < 1000; i++) {
    const f = new AnomalyLikelihood(options);
    for (let k = 0; k < 900; k++) feed(f, rng(), rng(), rng());
    h.filters.set(`plant/line${i % 10}/pump${i}`, f);
  }
  const base = await h.checkpoint();
  for (const f of h.filters.values()) feed(f, rng(), rng(), rng());
  const delta = await h.checkpoint();
  assert.ok(base.bytes > 13_000_000, `base ${base.bytes} bytes`);
  assert.ok(delta.bytes < 0.05 * base.bytes, `delta ${delta.bytes} bytes against a base of ${base.bytes}`);
  assert.ok(delta.bytes < 200_000, `delta ${delta.bytes} bytes`);
  const read = await readFilterStates(h.dir, delta.generation);
  assert.deepEqual(read?.states, h.snapshots());
});

test('a torn last record is skipped: that stream continues from its record before, the others from the checkpoint', async () => {
  const h = new Harness(await freshDir());
  for (const s of ['a', 'b', 'c']) h.filters.set(s, new AnomalyLikelihood(OPTIONS));
  const rng = createRng(5);
  const step = (): void => h.filters.forEach((f) => feed(f, rng(), undefined, rng()));
  // Full histories: the base outweighs a few deltas.
  for (let i = 0; i < 40; i++) step();
  await h.checkpoint();
  step();
  const first = await h.checkpoint();
  const atFirst = h.snapshots();
  step();
  const second = await h.checkpoint();
  const file = path.join(h.dir, `filters-${second.generation}.bin`);
  await truncate(file, second.bytes - 3);
  const read = await readFilterStates(h.dir, second.generation);
  assert.ok(read);
  assert.equal(read.damaged, 1);
  const now = h.snapshots();
  assert.deepEqual(read.states.get('a'), now.get('a'));
  assert.deepEqual(read.states.get('b'), now.get('b'));
  // The last record (c's) was torn: c as of the checkpoint before.
  assert.deepEqual(read.states.get('c'), atFirst.get('c'));
  assert.notDeepEqual(atFirst.get('c'), now.get('c'));
  assert.ok(first.generation < second.generation);
  // A later delta of c does not follow the record read last: c starts afresh instead of from a wrong state.
  step();
  await h.checkpoint();
  const later = await readFilterStates(h.dir, h.generation);
  assert.ok(later);
  assert.equal(later.damaged, 2);
  assert.equal(later.states.has('c'), false);
  assert.deepEqual(later.states.get('a'), h.snapshots().get('a'));
});

test('a crash after a checkpoint\'s delta was written but before state.json named it: the chain of the checkpoint named reads back', async () => {
  const h = new Harness(await freshDir());
  const rng = createRng(6);
  for (const s of ['a', 'b']) h.filters.set(s, new AnomalyLikelihood(OPTIONS));
  const step = (): void => h.filters.forEach((f) => feed(f, rng(), rng(), rng()));
  for (let i = 0; i < 40; i++) step();
  await h.checkpoint();
  step();
  const named = await h.checkpoint();
  const atNamed = h.snapshots();
  step();
  // Written, never named (the kill came before state.json).
  const w = h.capture.capture(named.generation + 1);
  await w.write();
  const read = await readFilterStates(h.dir, named.generation);
  assert.deepEqual(read?.states, atNamed);
  // The same process, its write failed instead (never named): the next checkpoint is a delta on the one named.
  h.generation++;
  step();
  const next = await h.checkpoint();
  const file = await readFile(path.join(h.dir, `filters-${next.generation}.bin`));
  assert.equal(file[16], 1, 'a delta');
  assert.equal(file.readDoubleLE(8 + 8 + 1 + 8), named.generation, 'its parent is the checkpoint named');
  await rm(path.join(h.dir, `filters-${named.generation + 1}.bin`));
  assert.deepEqual((await readFilterStates(h.dir, next.generation))?.states, h.snapshots());
});

test('files of a chain stay until a newer base is named', async () => {
  const h = new Harness(await freshDir(), 2);
  const f = new AnomalyLikelihood(OPTIONS);
  h.filters.set('a', f);
  const rng = createRng(7);
  for (let i = 0; i < 30; i++) feed(f, rng(), undefined, rng());
  const files = async (): Promise<string[]> => (await readdir(h.dir)).filter((n) => n.endsWith('.bin')).sort();
  for (let i = 0; i < 3; i++) {
    feed(f, rng(), undefined, rng());
    await h.checkpoint();
  }
  assert.deepEqual(await files(), ['filters-1.bin', 'filters-2.bin', 'filters-3.bin'], 'base 1, deltas 2 and 3');
  // Base 4 written, not named yet (state.json still names 3); a final checkpoint captured meanwhile.
  feed(f, rng(), undefined, rng());
  const base = h.capture.capture(4);
  await base.write();
  const atBase = h.snapshots();
  feed(f, rng(), undefined, rng());
  const final = h.capture.capture(5);
  assert.deepEqual(await files(), ['filters-1.bin', 'filters-2.bin', 'filters-3.bin', 'filters-4.bin']);
  base.named();
  await base.removeStale();
  assert.deepEqual(await files(), ['filters-4.bin'], 'base 4 named: nothing before it is needed');
  assert.deepEqual((await readFilterStates(h.dir, 4))?.states, atBase);
  await final.write();
  final.named();
  await final.removeStale();
  assert.deepEqual((await readFilterStates(h.dir, 5))?.states, h.snapshots());
});

test('a stream no longer bound (evicted, forgotten) does not come back: a tombstone in the delta, left out of the next base', async () => {
  const h = new Harness(await freshDir(), 1);
  for (const s of ['keep', 'gone']) h.filters.set(s, new AnomalyLikelihood(OPTIONS));
  h.filters.forEach((f) => feed(f, 1, undefined, 1));
  await h.checkpoint();
  h.filters.delete('gone');
  const delta = await h.checkpoint();
  assert.deepEqual([...((await readFilterStates(h.dir, delta.generation))?.states.keys() ?? [])], ['keep']);
  feed(h.filters.get('keep') as StreamScoreFilter, 2, undefined, 1);
  const base = await h.checkpoint();
  const file = await readFile(path.join(h.dir, `filters-${base.generation}.bin`));
  assert.equal(file[16], 0, 'a base');
  assert.equal(file.includes('gone'), false);
  assert.deepEqual([...((await readFilterStates(h.dir, base.generation))?.states.keys() ?? [])], ['keep']);
});

/** The JSON of the version before: one entry per stream, base64 float64 arrays. */
function oldJson(states: Record<string, ScoreFilterState>): Buffer {
  const b64 = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const filters = Object.fromEntries(
    Object.entries(states).map(([s, st]) => [
      s,
      { s: st.sinceDetection, ...(st.range ? { r: [b64(st.range.lo), b64(st.range.hi)] } : {}), h: st.scales.map((sc) => (sc.sums ? [b64(sc.history), b64(sc.recent), b64(sc.sums)] : [b64(sc.history), b64(sc.recent)])) },
    ]),
  );
  return Buffer.from(JSON.stringify({ format: 1, filters }));
}

const A: ScoreFilterState = {
  sinceDetection: 3,
  range: { lo: Float64Array.of(-1.5, Infinity), hi: Float64Array.of(2.25, -Infinity) },
  scales: [
    { history: Float64Array.of(0.1, 0.2, 1 / 3), recent: Float64Array.of(1 / 3), sums: Float64Array.of(0.6333333333333333, 0.16111, 1 / 3, 3) },
    { history: new Float64Array(0), recent: new Float64Array(0) },
  ],
};
const B: ScoreFilterState = { sinceDetection: null, scales: [] };

test('the JSON file of the version before is read at start, once: the first checkpoint after it writes a base and the JSON goes', async () => {
  const dir = await freshDir();
  await writeFile(path.join(dir, 'filters-7.json'), oldJson({ 'line7/pump7': A, 'a "quoted"\\ id': B }));
  const read = await readFilterStates(dir, 7);
  assert.ok(read);
  assert.equal(read.damaged, 0);
  assert.deepEqual(read.states.get('line7/pump7'), A);
  assert.deepEqual(read.states.get('a "quoted"\\ id'), B);
  assert.equal(await readFilterStates(dir, 6), null, 'no file of that checkpoint: nothing');
  const h = new Harness(dir);
  const f = new AnomalyLikelihood(OPTIONS);
  f.restore(read.states.get('line7/pump7') as ScoreFilterState);
  h.filters.set('line7/pump7', f);
  h.generation = 8;
  await h.checkpoint();
  assert.deepEqual((await readdir(dir)).sort(), ['filters-9.bin']);
  assert.deepEqual((await readFilterStates(dir, 9))?.states, h.snapshots());
});

test('the old JSON: a damaged entry is counted and skipped; a file of another format is refused', () => {
  const text = oldJson({ ok: A }).toString('utf8').replace('"filters":{', '"filters":{"bad":{"s":-1,"h":[]},"worse":{"s":0,"h":[["AAA",""]]},');
  const { states, damaged } = decodeFilterStates(Buffer.from(text));
  assert.deepEqual([...states.keys()], ['ok']);
  assert.equal(damaged, 2);
  assert.throws(() => decodeFilterStates(Buffer.from('{"format":9,"filters":{}}')), /format 9/);
});

test('with StateStore: each checkpoint\'s file is named by state.json; a start after a crash before state.json restores the checkpoint named', async () => {
  const dir = await freshDir();
  const { ctx, logs } = testContext('state');
  const store = new StateStore(ctx, dir, 3_600_000);
  await store.start();
  const filters = new Map<string, AnomalyLikelihood>([['s1', new AnomalyLikelihood(OPTIONS)], ['s2', new AnomalyLikelihood(OPTIONS)]]);
  store.addCheckpointPart('filters', new FilterStateCapture(store.dir, (visit) => filters.forEach((f, s) => visit(s, f))));
  await store.enableCheckpoints(() => undefined);
  const rng = createRng(8);
  const step = (): void => filters.forEach((f) => feed(f, rng(), undefined, rng()));
  const snap = (): Map<string, ScoreFilterState> => new Map([...filters].map(([s, f]) => [s, f.snapshot()]));
  // Full histories: the base outweighs a few deltas.
  for (let i = 0; i < 40; i++) step();
  store.setAlertSnapshot('s1', { x: 1 });
  await store.save();
  step();
  store.setAlertSnapshot('s1', { x: 2 });
  await store.save();
  const named = snap();
  await copyFile(store.file, path.join(dir, 'state.json.then'));
  step();
  store.setAlertSnapshot('s1', { x: 3 });
  await store.save();
  const state = JSON.parse(await readFile(store.file, 'utf8')) as { journal: number };
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('filters-')).sort(), [`filters-${state.journal - 2}.bin`, `filters-${state.journal - 1}.bin`, `filters-${state.journal}.bin`]);
  store.journal.close();
  // As if killed after the last filters file was written, before state.json named it.
  await copyFile(path.join(dir, 'state.json.then'), store.file);
  const restarted = new StateStore(testContext('state2').ctx, dir, 3_600_000);
  await restarted.start();
  const saved = await SavedFilterStates.load(restarted, ctx.log);
  assert.equal(saved.size, 2);
  for (const [s, want] of named) {
    const f = new AnomalyLikelihood(OPTIONS);
    saved.restore(s, f);
    assert.deepEqual(f.snapshot(), want, s);
  }
  assert.deepEqual(logs.filter((l) => l.level === 'warn'), []);
});
