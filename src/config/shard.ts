// The shard a replica runs as, from `shard.index` (a number or "hostname") and the host name. Used by the
// config check (so `anomalyd validate` reports a host name without an ordinal) and by the daemon at start.
import * as os from 'node:os';
import { hostnameOrdinal, type ShardSpec } from '../core/shard';
import type { ShardConfig } from './schema';

export type ShardResolution = { readonly ok: true; readonly spec: ShardSpec } | { readonly ok: false; readonly problem: string };

export function resolveShard(shard: ShardConfig, hostname: string = os.hostname()): ShardResolution {
  const { count } = shard;
  let index: number;
  if (shard.index === 'hostname') {
    const ordinal = hostnameOrdinal(hostname);
    // With one shard the index can only be 0: a host name without an ordinal is fine then.
    if (ordinal === undefined && count === 1) return { ok: true, spec: { index: 0, count } };
    if (ordinal === undefined) {
      return { ok: false, problem: `"hostname" needs a host name ending in -<ordinal> like a StatefulSet pod's (anomalyd-2), but the host name is '${hostname}'; set the index explicitly` };
    }
    index = ordinal;
  } else {
    index = Number(shard.index);
  }
  if (index >= count) {
    const from = shard.index === 'hostname' ? ` (from the host name '${hostname}')` : '';
    return { ok: false, problem: `shard index ${index}${from} must be below shard.count (${count}); give every replica the same count, one more than the highest index` };
  }
  return { ok: true, spec: { index, count } };
}
