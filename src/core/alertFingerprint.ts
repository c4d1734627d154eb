// Alert identity. Core has no crypto, and the fingerprint only has to be stable and well spread (it names an
// alert across restarts and receivers, it is not a security boundary), so a 64-bit FNV-1a over the UTF-8 bytes
// is enough; it prints as 16 hex digits like Alertmanager's own fingerprints.
import type { AlertKind } from './alert';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** 64-bit FNV-1a of a string's UTF-8 bytes, as 16 lower-case hex digits. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}

/** The same for every notice of one alert: stream + kind (not severity or model, which may change while it fires). */
export function alertFingerprint(stream: string, kind: AlertKind): string {
  // NUL cannot occur in a stream id, so "a" + "b/c" and "a/b" + "c" cannot collide.
  return fnv1a64(`${stream}\u0000${kind}`);
}
