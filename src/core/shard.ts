// Which replica owns a stream when streams are partitioned across replicas (`shard: {index, count}`).
//
// The owner must be the same on every replica, on every machine and in every release, whatever the broker or
// the order of arrival: a stream scored by two replicas pages twice, one scored by none is not watched. So the
// mapping is a pure function of the stream id and the replica count, specified here byte for byte:
//
//   key   = FNV-1a 64-bit over the UTF-8 bytes of the stream id
//           (offset basis 0xcbf29ce484222325, prime 0x100000001b3)
//   shard = jump consistent hash (Lamping & Veach, 2014) of key into `count` buckets
//
// Jump hash rather than `key % count`: when a deployment grows from n to n + 1 replicas, only about 1/(n + 1)
// of the streams move to the new replica and none move between the old ones (with a modulo nearly all would),
// so growing keeps most windows and alert states where they are. Both functions are tested against published
// vectors (test/unit/core/shard.test.ts); changing either reassigns streams and must be called out as breaking.

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const JUMP_MULTIPLIER = 2862933555777941757n;

const utf8 = new TextEncoder();

/** FNV-1a 64-bit of the UTF-8 bytes of `text`. */
export function fnv1a64(text: string): bigint {
  let h = FNV64_OFFSET;
  for (const byte of utf8.encode(text)) {
    h ^= BigInt(byte);
    h = (h * FNV64_PRIME) & MASK64;
  }
  return h;
}

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key; buckets < 1 is treated as 1. */
export function jumpHash(key: bigint, buckets: number): number {
  let k = BigInt.asUintN(64, key);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * JUMP_MULTIPLIER + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return Math.max(b, 0);
}

/** The shard (0-based) that owns `stream` among `count` replicas. */
export function shardOf(stream: string, count: number): number {
  return count <= 1 ? 0 : jumpHash(fnv1a64(stream), count);
}

export interface ShardSpec {
  /** This replica's shard, 0 <= index < count. */
  readonly index: number;
  /** Number of replicas the streams are partitioned across; 1 = no partitioning. */
  readonly count: number;
}

/** `owns(stream)` for one replica, memoised per stream id (bounded: cleared past `cacheMax` ids). */
export function shardOwnership(spec: ShardSpec, cacheMax = 100_000): (stream: string) => boolean {
  if (!Number.isInteger(spec.count) || spec.count < 1) throw new RangeError(`shard count must be an integer >= 1 (got ${spec.count})`);
  if (!Number.isInteger(spec.index) || spec.index < 0 || spec.index >= spec.count) {
    throw new RangeError(`shard index must be an integer in [0, ${spec.count - 1}] (got ${spec.index})`);
  }
  if (spec.count === 1) return () => true;
  const cache = new Map<string, boolean>();
  return (stream) => {
    const hit = cache.get(stream);
    if (hit !== undefined) return hit;
    const mine = shardOf(stream, spec.count) === spec.index;
    if (cache.size >= cacheMax) cache.clear();
    cache.set(stream, mine);
    return mine;
  };
}

/**
 * The ordinal at the end of a StatefulSet pod's host name (`anomalyd-2` -> 2), or undefined when the name does
 * not end in `-<digits>`.
 */
export function hostnameOrdinal(hostname: string): number | undefined {
  const m = /-(\d{1,6})$/.exec(hostname.split('.')[0] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The group and the plain topic filter of an MQTT 5 shared subscription (`$share/<group>/<filter>`). */
export interface SharedFilter {
  /** The share group, or undefined for an ordinary filter. */
  readonly group: string | undefined;
  /** The filter that message topics are matched against (without the `$share/<group>/` prefix). */
  readonly filter: string;
}

const SHARE_PREFIX = '$share/';

/**
 * Splits `$share/<group>/<filter>`; an ordinary filter comes back unchanged with no group. A malformed shared
 * filter (no group, or no filter after it) keeps the whole text as its filter and an empty group, so callers
 * can report it.
 */
export function parseSharedFilter(topic: string): SharedFilter {
  if (!topic.startsWith(SHARE_PREFIX)) return { group: undefined, filter: topic };
  const rest = topic.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return { group: '', filter: topic };
  return { group: rest.slice(0, slash), filter: rest.slice(slash + 1) };
}
