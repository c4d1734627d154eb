// A fast reader for the payload shape nearly every plant sends: one flat JSON object of ASCII keys whose values
// are numbers or null, e.g. {"ts":1767657600000,"vib_x_rms":1.0277,...}. It reads the wanted keys' values
// straight from the bytes: no UTF-8 decoding into a string, no parsed object, no number boxed per key (JSON.parse
// and its garbage were the largest part of decoding a message in the ingest profile).
//
// It never decides anything the full path (UTF-8 check + JSON.parse) would decide differently; it only declines.
// Anything outside the narrow shape returns false and the caller falls back to the full path: non-ASCII bytes,
// escapes in keys, string/boolean/array/object values, a number it cannot convert exactly, an empty object,
// trailing bytes. When it accepts, the values are exactly JSON.parse's: numbers are converted only when the
// digits form an integer below 2^53 scaled by at most 10^22, where one IEEE multiplication or division of two
// exact doubles gives the correctly rounded result (Clinger's fast path); a repeated key keeps the last value.

/** Per wanted key: its value, null, or undefined when the object does not have the key. */
export type FlatValue = number | null | undefined;

/** Keys to read, as bytes; build once per decoder. */
export function flatKeys(keys: readonly string[]): Uint8Array[] {
  return keys.map((k) => Buffer.from(k, 'utf8'));
}

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** 15 decimal digits always fit below 2^53. */
const MAX_DIGITS = 15;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const ZERO = 0x30;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Reads `buf` as a flat object: `out[i]` receives the value of `keys[i]` (undefined when absent). Returns false
 * (out then holds garbage) when the payload is not of the fast shape; the caller must then use the full path.
 */
export function readFlatObject(buf: Uint8Array, keys: readonly Uint8Array[], out: FlatValue[]): boolean {
  for (let k = 0; k < keys.length; k++) out[k] = undefined;
  const n = buf.length;
  let i = 0;
  while (i < n && isSpace(buf[i])) i++;
  if (i >= n || buf[i] !== OPEN) return false;
  i++;
  for (;;) {
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n || buf[i] !== QUOTE) return false; // also `{}`: the full path reports it
    const keyStart = ++i;
    while (i < n && buf[i] !== QUOTE) {
      const b = buf[i];
      if (b === BACKSLASH || b < 0x20 || b >= 0x80) return false;
      i++;
    }
    if (i >= n) return false;
    const keyEnd = i++;
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n || buf[i] !== COLON) return false;
    i++;
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n) return false;
    let value: number | null;
    if (buf[i] === 0x6e) {
      // null
      if (i + 4 > n || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return false;
      value = null;
      i += 4;
    } else {
      const end = scanNumber(buf, i);
      if (end < 0) return false;
      const v = numberAt(buf, i, end);
      if (v === undefined) return false;
      value = v;
      i = end;
    }
    const slot = findKey(buf, keyStart, keyEnd, keys);
    if (slot >= 0) out[slot] = value;
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n) return false;
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    if (buf[i] !== CLOSE) return false;
    i++;
    while (i < n && isSpace(buf[i])) i++;
    return i === n;
  }
}

function findKey(buf: Uint8Array, start: number, end: number, keys: readonly Uint8Array[]): number {
  const len = end - start;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    if (key.length !== len) continue;
    let j = 0;
    while (j < len && buf[start + j] === key[j]) j++;
    if (j === len) return k;
  }
  return -1;
}

/** End of a JSON number starting at `i` (RFC 8259 grammar), or -1. */
function scanNumber(buf: Uint8Array, i: number): number {
  const n = buf.length;
  if (i < n && buf[i] === MINUS) i++;
  if (i >= n) return -1;
  if (buf[i] === ZERO) i++;
  else if (isDigit(buf[i])) while (i < n && isDigit(buf[i])) i++;
  else return -1;
  if (i < n && buf[i] === DOT) {
    i++;
    if (i >= n || !isDigit(buf[i])) return -1;
    while (i < n && isDigit(buf[i])) i++;
  }
  if (i < n && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < n && (buf[i] === PLUS || buf[i] === MINUS)) i++;
    if (i >= n || !isDigit(buf[i])) return -1;
    while (i < n && isDigit(buf[i])) i++;
  }
  return i;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** The exact double of a scanned JSON number, or undefined when the fast conversion would not be exact. */
function numberAt(buf: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let seenDot = false;
  for (; i < end; i++) {
    const b = buf[i];
    if (b === DOT) {
      seenDot = true;
      continue;
    }
    if (b === 0x65 || b === 0x45) break;
    // Leading zeros add no significant digit.
    if (mantissa !== 0 || b !== ZERO) digits++;
    if (digits > MAX_DIGITS) return undefined;
    mantissa = mantissa * 10 + (b - ZERO);
    if (seenDot) scale--;
  }
  if (i < end) {
    i++;
    let expNegative = false;
    if (buf[i] === PLUS || buf[i] === MINUS) expNegative = buf[i++] === MINUS;
    let exp = 0;
    for (; i < end; i++) {
      exp = exp * 10 + (buf[i] - ZERO);
      if (exp > 400) return undefined;
    }
    scale += expNegative ? -exp : exp;
  }
  if (scale < -22 || scale > 22) return mantissa === 0 ? (negative ? -0 : 0) : undefined;
  const v = scale >= 0 ? mantissa * POW10[scale] : mantissa / POW10[-scale];
  return negative ? -v : v;
}
