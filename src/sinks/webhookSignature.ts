// The webhook signature and its reference verifier. Receivers can use `verifySignature` as it is (it has no
// dependencies beyond node:crypto) or port it: recompute HMAC-SHA256 over "<t>.<raw body>" with the shared
// secret, compare in constant time, and refuse timestamps outside the tolerance so a captured request cannot be
// replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Anomalyd-Signature';
export const DEFAULT_TOLERANCE_S = 300;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; a fresh t per attempt lets receivers reject replays. */
export function signature(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmacHex(secret, `${t}.${body}`)}`;
}

export type VerifyResult = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

/**
 * Checks an `X-Anomalyd-Signature` header against the raw request body (exactly the bytes received, before any
 * JSON parsing). Rejects a malformed header, a timestamp more than `toleranceS` away from `nowMs`, and a wrong
 * HMAC (constant-time comparison).
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  nowMs: number = Date.now(),
  toleranceS: number = DEFAULT_TOLERANCE_S,
): VerifyResult {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header?.trim() ?? '');
  if (!m) return { ok: false, reason: 'missing or malformed signature header' };
  const t = Number(m[1]);
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: `timestamp ${t} is outside the ${toleranceS} s tolerance` };
  const expected = Buffer.from(hmacHex(secret, Buffer.concat([Buffer.from(`${t}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)])), 'hex');
  const given = Buffer.from(m[2], 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match the body' };
  return { ok: true, timestamp: t };
}

function hmacHex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
