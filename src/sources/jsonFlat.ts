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

const ABSENT = 0;
const NULL = 1;
const NUMBER = 2;

/**
 * Where readFlatObject puts what it read, per wanted key: numbers in a Float64Array, and whether the key was
 * absent, null or a number beside it. Typed arrays, because a number stored in an ordinary array is a heap
 * object of its own: one per key per message, a tenth of the daemon's allocations in the ingest profile.
 */
export class FlatSlots {
  readonly numbers: Float64Array;
  readonly kinds: Uint8Array;
  /**
   * A device sends its keys in the same order every time: per slot, the slot of the wanted key that followed
   * it in the last object read (index `length`: the first one), -1 when not known. The key expected next is
   * compared first, which spares scanning the key and trying every wanted key of the same length.
   */
  readonly next: Int32Array;
  /** The keys `plain` was worked out for. */
  private keysSeen: readonly Uint8Array[] | null = null;
  private plainKeys = new Uint8Array(0);

  constructor(readonly length: number) {
    // One more: where the numbers of keys nobody wants are converted (they must still be valid).
    this.numbers = new Float64Array(length + 1);
    this.kinds = new Uint8Array(length);
    this.next = new Int32Array(length + 1).fill(-1);
  }

  /**
   * Per key, 1 when its bytes can be matched as they are: printable ASCII without quote or backslash (what the
   * key scan accepts unchanged) and no earlier key the same (the scan finds the first).
   */
  plain(keys: readonly Uint8Array[]): Uint8Array {
    if (this.keysSeen === keys) return this.plainKeys;
    this.keysSeen = keys;
    this.next.fill(-1);
    this.plainKeys = Uint8Array.from(keys, (key, k) => {
      for (const b of key) if (b < 0x20 || b >= 0x80 || b === QUOTE || b === BACKSLASH) return 0;
      return keys.slice(0, k).some((other) => Buffer.compare(other, key) === 0) ? 0 : 1;
    });
    return this.plainKeys;
  }

  /** Key i held a number (then in numbers[i]). */
  isNumber(i: number): boolean {
    return this.kinds[i] === NUMBER;
  }

  /** Key i's value as JSON.parse would give it (boxes a number: tests, rare paths). */
  value(i: number): FlatValue {
    const kind = this.kinds[i];
    return kind === NUMBER ? this.numbers[i] : kind === NULL ? null : undefined;
  }
}

/** Keys to read, as bytes; build once per decoder. */
export function flatKeys(keys: readonly string[]): Uint8Array[] {
  return keys.map((k) => Buffer.from(k, 'utf8'));
}

const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);
/** 15 decimal digits always fit below 2^53. */
const MAX_DIGITS = 15;


function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Reads `buf` as a flat object: slot i of `out` receives the value of `keys[i]` (absent when the object does
 * not have it). Returns false (out then holds garbage) when the payload is not of the fast shape; the caller
 * must then use the full path.
 */
export function readFlatObject(buf: Uint8Array, keys: readonly Uint8Array[], out: FlatSlots): boolean {
  const { numbers, kinds, next } = out;
  const plain = out.plain(keys);
  for (let k = 0; k < kinds.length; k++) kinds[k] = ABSENT;
  /** The slot of the last wanted key read (`out.length` before the first). */
  let previous = out.length;
  const n = buf.length;
  let i = 0;
  while (i < n && isSpace(buf[i])) i++;
  if (i >= n || buf[i] !== OPEN) return false;
  i++;
  for (;;) {
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n || buf[i] !== QUOTE) return false; // also `{}`: the full path reports it
    const keyStart = ++i;
    const expected = next[previous];
    let slot: number;
    if (expected >= 0 && plain[expected] === 1 && keyAt(buf, keyStart, keys[expected])) {
      slot = expected;
      i = keyStart + keys[expected].length;
    } else {
      while (i < n && buf[i] !== QUOTE) {
        const b = buf[i];
        if (b === BACKSLASH || b < 0x20 || b >= 0x80) return false;
        i++;
      }
      if (i >= n) return false;
      slot = findKey(buf, keyStart, i, keys);
    }
    i++;
    if (slot >= 0) {
      next[previous] = slot;
      previous = slot;
    }
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n || buf[i] !== COLON) return false;
    i++;
    while (i < n && isSpace(buf[i])) i++;
    if (i >= n) return false;
    if (buf[i] === 0x6e) {
      // null
      if (i + 4 > n || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return false;
      if (slot >= 0) kinds[slot] = NULL;
      i += 4;
    } else {
      // Converted straight into the slot: a double returned from a call is a heap object of its own.
      const end = readNumber(buf, i, numbers, slot >= 0 ? slot : out.length);
      if (end < 0) return false;
      if (slot >= 0) kinds[slot] = NUMBER;
      i = end;
    }
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

/** Whether `key` followed by a closing quote is at `at`. */
function keyAt(buf: Uint8Array, at: number, key: Uint8Array): boolean {
  const len = key.length;
  if (at + len >= buf.length || buf[at + len] !== QUOTE) return false;
  for (let j = 0; j < len; j++) if (buf[at + j] !== key[j]) return false;
  return true;
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

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/**
 * Reads the JSON number (RFC 8259 grammar) at `i` into out[at] in one pass over its digits; returns the index
 * after it, or -1 when there is no JSON number there or its exact double needs the full path (more than
 * MAX_DIGITS significant digits, or a power of ten beyond the exact range).
 */
function readNumber(buf: Uint8Array, i: number, out: Float64Array, at: number): number {
  const n = buf.length;
  const negative = i < n && buf[i] === MINUS;
  if (negative) i++;
  if (i >= n) return -1;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let b = buf[i];
  if (b === ZERO) {
    i++;
  } else if (isDigit(b)) {
    do {
      if (++digits > MAX_DIGITS) return -1;
      mantissa = mantissa * 10 + (b - ZERO);
      b = ++i < n ? buf[i] : -1;
    } while (isDigit(b));
  } else {
    return -1;
  }
  if (i < n && buf[i] === DOT) {
    b = ++i < n ? buf[i] : -1;
    if (!isDigit(b)) return -1;
    do {
      // Leading zeros (0.000x) add no significant digit.
      if (mantissa !== 0 || b !== ZERO) digits++;
      if (digits > MAX_DIGITS) return -1;
      mantissa = mantissa * 10 + (b - ZERO);
      scale--;
      b = ++i < n ? buf[i] : -1;
    } while (isDigit(b));
  }
  if (i < n && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let expNegative = false;
    if (i < n && (buf[i] === PLUS || buf[i] === MINUS)) expNegative = buf[i++] === MINUS;
    b = i < n ? buf[i] : -1;
    if (!isDigit(b)) return -1;
    let exp = 0;
    do {
      exp = exp * 10 + (b - ZERO);
      if (exp > 400) return -1;
      b = ++i < n ? buf[i] : -1;
    } while (isDigit(b));
    scale += expNegative ? -exp : exp;
  }
  if (scale < -22 || scale > 22) {
    if (mantissa !== 0) return -1;
    out[at] = negative ? -0 : 0;
    return i;
  }
  const v = scale >= 0 ? mantissa * POW10[scale] : mantissa / POW10[-scale];
  out[at] = negative ? -v : v;
  return i;
}
