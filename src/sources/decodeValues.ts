// Value and timestamp checks shared by the payload decoders. Decoders never throw to their callers: inside, a bad
// value throws a Rejection that the decoder entry point turns into a result, which keeps every format's code a
// straight line instead of a cascade of early returns.
import type { RejectReason } from '../core/context';
import { parseIsoTime } from './csv';

/** Largest magnitude accepted for a channel value: beyond it float32 windows and scaling lose all meaning. */
export const MAX_ABS_VALUE = 1e15;
/** Timestamps later than arrival + this are rejected (a clock far ahead would poison windows for a long time). */
export const MAX_FUTURE_MS = 86_400_000;
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
export function jsonTimestamp(raw: unknown, unit: TimestampUnit, arrivalMs: number, where: string): number {
  if (unit === 'iso8601') {
    if (typeof raw !== 'string') reject('bad_timestamp', `${where} is ${describe(raw)}, expected an ISO 8601 string`);
    return textTimestamp(raw, unit, arrivalMs, where);
  }
  if (typeof raw !== 'number') reject('bad_timestamp', `${where} is ${describe(raw)}, expected epoch ${unit === 's' ? 'seconds' : 'milliseconds'} as a number`);
  return checkTime(unit === 's' ? raw * 1000 : raw, arrivalMs, where);
}

/** A timestamp written as text (CSV): decimal epoch ms/s or ISO 8601 (no zone = UTC, as the CSV reader does). */
export function textTimestamp(text: string, unit: TimestampUnit, arrivalMs: number, where: string): number {
  if (text.length > MAX_TEXT) reject('bad_timestamp', `${where} is too long (${text.length} characters)`);
  if (unit === 'iso8601') {
    const t = parseIsoTime(text);
    if (t === undefined) reject('bad_timestamp', `${where} is not an ISO 8601 time (got '${clip(text)}')`);
    return checkTime(t, arrivalMs, where);
  }
  if (!DECIMAL.test(text)) reject('bad_timestamp', `${where} is not a number (got '${clip(text)}')`);
  const n = Number(text);
  return checkTime(unit === 's' ? n * 1000 : n, arrivalMs, where);
}

/** Rejects NaN, negative and far-future times (more than MAX_FUTURE_MS after arrival). */
export function checkTime(ms: number, arrivalMs: number, where: string): number {
  if (!Number.isFinite(ms)) reject('bad_timestamp', `${where} is not finite (${ms})`);
  if (ms < 0) reject('bad_timestamp', `${where} is before 1970 (${ms} ms)`);
  if (ms > arrivalMs + MAX_FUTURE_MS) reject('bad_timestamp', `${where} is more than a day in the future (${new Date(Math.min(ms, 8.64e15)).toISOString()})`);
  return ms;
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
