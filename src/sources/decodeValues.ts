// Value and timestamp checks shared by the payload decoders. Decoders never throw to their callers: inside, a bad
// value throws a Rejection that the decoder entry point turns into a result, which keeps every format's code a
// straight line instead of a cascade of early returns.
import type { RejectReason } from '../core/context';
import { parseIsoTime } from './csv';

/** Largest magnitude accepted for a channel value: beyond it float32 windows and scaling lose all meaning. */
export const MAX_ABS_VALUE = 1e15;
/**
 * The largest future skew a subscription may allow (timestamp.max_future_skew_ms): a stream's clock can be held
 * at most this far ahead of real time by one wrong sample, and every real sample until then is dropped.
 */
export const MAX_FUTURE_MS = 86_400_000;
/** Defaults of timestamp.max_future_skew_ms and timestamp.max_age_ms (the config schema carries the same). */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 10_000;
export const DEFAULT_MAX_AGE_MS = 7 * 86_400_000;
/** Longest timestamp or number text looked at; longer text is rejected without running a regex on it. */
const MAX_TEXT = 64;

export type TimestampSource = 'auto' | 'payload' | 'arrival';
export type TimestampUnit = 'ms' | 's' | 'iso8601';

export interface TimestampOptions {
  /** auto = payload field when present, else arrival; payload = required; arrival = receive time. */
  readonly source: TimestampSource;
  /** Field (json decoders) holding the timestamp. */
  readonly field: string;
  readonly unit: TimestampUnit;
  /**
   * A payload time more than this after arrival is rejected (future_timestamp): it would move the stream's clock
   * ahead and every real sample behind it would be dropped as out of order. Default DEFAULT_MAX_FUTURE_SKEW_MS.
   */
  readonly maxFutureSkewMs?: number;
  /** A payload time more than this before arrival is rejected (too_old); 0 = no limit. Default DEFAULT_MAX_AGE_MS. */
  readonly maxAgeMs?: number;
}

/** The accepted range of payload times relative to arrival, resolved once per decoder (not per message). */
export interface TimeLimits {
  readonly maxFutureSkewMs: number;
  /** Infinity when unlimited, so the check stays one comparison. */
  readonly maxAgeMs: number;
}

export function timeLimits(t: TimestampOptions): TimeLimits {
  const age = t.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  return { maxFutureSkewMs: Math.min(t.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS, MAX_FUTURE_MS), maxAgeMs: age === 0 ? Infinity : age };
}

/** Problems with the limits (config mistakes), one message each. */
export function timeLimitProblems(t: TimestampOptions): string[] {
  const p: string[] = [];
  const skew = t.maxFutureSkewMs;
  if (skew !== undefined && !(Number.isInteger(skew) && skew >= 0 && skew <= MAX_FUTURE_MS)) p.push(`max future skew must be an integer in [0, ${MAX_FUTURE_MS}] ms (got ${skew})`);
  const age = t.maxAgeMs;
  if (age !== undefined && !(Number.isInteger(age) && age >= 0)) p.push(`max age must be a non-negative integer of ms (got ${age})`);
  return p;
}

export class Rejection extends Error {
  override readonly name = 'Rejection';
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export function reject(reason: RejectReason, detail: string): never {
  throw new Rejection(reason, detail);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A channel value from JSON: a finite number within MAX_ABS_VALUE, or null (missing -> NaN). */
export function jsonValue(v: unknown, where: string): number {
  if (v === null) return NaN;
  if (typeof v !== 'number') reject('invalid_number', `${where} is ${describe(v)}, expected a number or null`);
  return checkedNumber(v, where);
}

/** A decimal number in text (CSV cells, `number` payloads): no NaN/Infinity/hex/underscore spellings. */
export function decimalValue(text: string, where: string): number {
  if (text.length > MAX_TEXT || !DECIMAL.test(text)) reject('invalid_number', `${where} is not a decimal number (got '${clip(text)}')`);
  return checkedNumber(Number(text), where);
}

export function checkedNumber(v: number, where: string): number {
  if (!Number.isFinite(v)) reject('invalid_number', `${where} is not finite (${v})`);
  if (Math.abs(v) > MAX_ABS_VALUE) reject('invalid_number', `${where} exceeds ${MAX_ABS_VALUE} in magnitude (${v})`);
  return v;
}

/** A timestamp from JSON: a number in ms or s, or an ISO 8601 string, per `unit`. */
export function jsonTimestamp(raw: unknown, unit: TimestampUnit, arrivalMs: number, limits: TimeLimits, where: string): number {
  if (unit === 'iso8601') {
    if (typeof raw !== 'string') reject('bad_timestamp', `${where} is ${describe(raw)}, expected an ISO 8601 string`);
    return textTimestamp(raw, unit, arrivalMs, limits, where);
  }
  if (typeof raw !== 'number') reject('bad_timestamp', `${where} is ${describe(raw)}, expected epoch ${unit === 's' ? 'seconds' : 'milliseconds'} as a number`);
  return checkTime(unit === 's' ? raw * 1000 : raw, arrivalMs, limits, where);
}

/** A timestamp written as text (CSV): decimal epoch ms/s or ISO 8601 (no zone = UTC, as the CSV reader does). */
export function textTimestamp(text: string, unit: TimestampUnit, arrivalMs: number, limits: TimeLimits, where: string): number {
  if (text.length > MAX_TEXT) reject('bad_timestamp', `${where} is too long (${text.length} characters)`);
  if (unit === 'iso8601') {
    const t = parseIsoTime(text);
    if (t === undefined) reject('bad_timestamp', `${where} is not an ISO 8601 time (got '${clip(text)}')`);
    return checkTime(t, arrivalMs, limits, where);
  }
  if (!DECIMAL.test(text)) reject('bad_timestamp', `${where} is not a number (got '${clip(text)}')`);
  const n = Number(text);
  return checkTime(unit === 's' ? n * 1000 : n, arrivalMs, limits, where);
}

/**
 * Rejects NaN and negative times, and times outside the subscription's limits relative to arrival: more than
 * maxFutureSkewMs after it (future_timestamp) or more than maxAgeMs before it (too_old). The detail names the
 * offset, so the log line and the status page say how far off the sender's clock is.
 */
export function checkTime(ms: number, arrivalMs: number, limits: TimeLimits, where: string): number {
  if (!Number.isFinite(ms)) reject('bad_timestamp', `${where} is not finite (${ms})`);
  if (ms < 0) reject('bad_timestamp', `${where} is before 1970 (${ms} ms)`);
  const ahead = ms - arrivalMs;
  if (ahead > limits.maxFutureSkewMs) {
    reject('future_timestamp', `${where} is ${offset(ahead)} ahead of arrival (${isoTime(ms)}; max_future_skew_ms ${limits.maxFutureSkewMs})`);
  }
  if (-ahead > limits.maxAgeMs) reject('too_old', `${where} is ${offset(-ahead)} before arrival (${isoTime(ms)}; max_age_ms ${limits.maxAgeMs})`);
  return ms;
}

/** An offset in ms, with a readable unit beside it: "82800000 ms (23.0 h)". */
export function offset(ms: number): string {
  const abs = Math.abs(ms);
  const readable = abs >= 86_400_000 ? `${(ms / 86_400_000).toFixed(1)} d` : abs >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : abs >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms (${readable})`;
}

function isoTime(ms: number): string {
  return new Date(Math.min(Math.max(ms, 0), 8.64e15)).toISOString();
}

/** A sample rate from a payload (json_array chunks). */
export function jsonRate(raw: unknown, where: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0 || raw > 1_000_000) {
    reject('invalid_number', `${where} must be a number in (0, 1000000] (got ${clip(JSON.stringify(raw) ?? String(raw))})`);
  }
  return raw;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string ('${clip(v)}')`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** Payload text quoted in a detail: short, and with control characters made visible. */
export function clip(text: string, max = 40): string {
  const short = text.length > max ? `${text.slice(0, max)}...` : text;
  return short.replace(/[\p{Cc}\p{Cf}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
