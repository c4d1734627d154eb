// The stream -> replica mapping must never change silently: every replica of a deployment (and every release
// an operator rolls through) has to agree on it. Published vectors pin both halves (FNV-1a 64 and jump
// consistent hash); the stream-id vectors pin their composition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a64, hostnameOrdinal, jumpHash, shardOf, shardOwnership } from '../../../src/core/shard';

test('FNV-1a 64 matches the reference vectors (UTF-8 bytes)', () => {
  // From the FNV reference test suite (Fowler/Noll/Vo, fnv_test.c).
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  // Non-ASCII ids hash their UTF-8 encoding, not UTF-16 code units: 'é' is the two bytes c3 a9.
  const manual = [0xc3n, 0xa9n].reduce((h, b) => ((h ^ b) * 0x100000001b3n) & 0xffffffffffffffffn, 0xcbf29ce484222325n);
  assert.equal(fnv1a64('é'), manual);
});

test('jump consistent hash matches the published vectors', () => {
  // The vectors of the reference implementations (Lamping & Veach; dgryski/go-jump; Guava consistentHash).
  const vectors: [bigint, number, number][] = [
    [1n, 1, 0],
    [42n, 57, 43],
    [0xdead10ccn, 1, 0],
    [0xdead10ccn, 666, 361],
    [256n, 1024, 520],
    [0n, 2, 0],
    [4n, 2, 1],
    [7n, 2, 0],
    [1n, 128, 55],
    [129n, 128, 120],
    [0xffffffffffffffffn, 128, 92],
    [128n, 100_000_000, 38_172_097],
    [0n, -10, 0],
  ];
  for (const [key, buckets, expected] of vectors) assert.equal(jumpHash(key, buckets), expected, `jumpHash(${key}, ${buckets})`);
});

test('stream ids map to fixed shards (changing this reassigns streams in running deployments)', () => {
  const ids = ['line1/pump0', 'line1/pump1', 'line1/pump2', 'line2/pump0', 'plant/a/b', 'Kühlpumpe/1'];
  const got = Object.fromEntries(ids.map((id) => [id, [shardOf(id, 2), shardOf(id, 3), shardOf(id, 5)]]));
  // Computed once with this module and, independently, with a 15-line Python version of the same definition.
  assert.deepEqual(got, {
    'line1/pump0': [0, 0, 0],
    'line1/pump1': [1, 2, 2],
    'line1/pump2': [1, 2, 2],
    'line2/pump0': [1, 2, 2],
    'plant/a/b': [1, 1, 1],
    'Kühlpumpe/1': [0, 2, 2],
  });
  assert.equal(shardOf('anything', 1), 0);
});

test('shards are balanced and growing from n to n + 1 replicas moves only streams to the new one', () => {
  const ids = Array.from({ length: 6000 }, (_, i) => `line${i % 20}/pump${Math.floor(i / 20)}`);
  const counts = [0, 0, 0];
  for (const id of ids) counts[shardOf(id, 3)]++;
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 200, `shard sizes ${counts.join('/')} within 10 % of 2000`);
  let moved = 0;
  for (const id of ids) {
    const before = shardOf(id, 3);
    const after = shardOf(id, 4);
    if (after !== before) {
      assert.equal(after, 3, `${id} moved from ${before} to ${after}, not to the new shard`);
      moved++;
    }
  }
  assert.ok(Math.abs(moved / ids.length - 0.25) < 0.03, `moved fraction ${moved / ids.length} is about 1/4`);
});

test('shardOwnership: each stream is owned by exactly one replica; bad specs are refused', () => {
  const owners = [0, 1, 2].map((index) => shardOwnership({ index, count: 3 }, 10));
  for (let i = 0; i < 100; i++) {
    const id = `s${i}`;
    // Twice: the second answer comes from the (small, repeatedly cleared) cache.
    for (let r = 0; r < 2; r++) assert.equal(owners.filter((owns) => owns(id)).length, 1, id);
  }
  assert.equal(shardOwnership({ index: 0, count: 1 })('x'), true);
  assert.throws(() => shardOwnership({ index: 3, count: 3 }), /index must be an integer in \[0, 2\]/);
  assert.throws(() => shardOwnership({ index: 0, count: 0 }), /count must be an integer >= 1/);
});

test('hostnameOrdinal reads the StatefulSet ordinal', () => {
  assert.equal(hostnameOrdinal('anomalyd-2'), 2);
  assert.equal(hostnameOrdinal('anomalyd-12.anomalyd.plant.svc.cluster.local'), 12);
  assert.equal(hostnameOrdinal('my-anomalyd-0'), 0);
  assert.equal(hostnameOrdinal('anomalyd'), undefined);
  assert.equal(hostnameOrdinal('anomalyd-x'), undefined);
});
