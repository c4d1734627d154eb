// The flat-object fast path against JSON.parse, differentially: whenever it accepts a payload, every wanted
// key has exactly the value JSON.parse gives the same bytes (Object.is: -0, last of repeated keys, null vs
// absent); and the payloads plants send are in fact accepted (or it would be dead code). Fixed seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FlatSlots, flatKeys, readFlatObject, type FlatValue } from '../../../src/sources/jsonFlat';
import { createDecoder } from '../../../src/sources/decoders';

const SEED = 20261127;
const WANTED = ['ts', 'a', 'b', 'vib_x_rms', '__proto__', 'constructor'];
const KEYS = flatKeys(WANTED);

/** What JSON.parse says for each wanted key, or 'invalid' when it throws / is not a plain object. */
function reference(bytes: Buffer): FlatValue[] | 'invalid' {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'invalid';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'invalid';
  const rec = doc as Record<string, unknown>;
  return WANTED.map((k) => (Object.hasOwn(rec, k) ? (rec[k] as FlatValue) : undefined));
}

/**
 * One for every check, as a decoder keeps one: the key order it learns from one payload is what it tries first
 * on the next, so the fuzzing also covers a guess that is wrong, or right, or right up to a prefix.
 */
const SLOTS = new FlatSlots(KEYS.length);

function check(bytes: Buffer): boolean {
  const slots = SLOTS;
  const accepted = readFlatObject(bytes, KEYS, slots);
  const out = WANTED.map((_, i) => slots.value(i));
  if (!accepted) return false;
  const ref = reference(bytes);
  assert.notEqual(ref, 'invalid', `accepted what JSON.parse refuses: ${bytes.toString('latin1')}`);
  if (ref === 'invalid') return true;
  WANTED.forEach((k, i) => {
    assert.ok(Object.is(out[i], ref[i]), `key '${k}' of ${bytes.toString('latin1')}: fast ${String(out[i])}, JSON.parse ${String(ref[i])}`);
  });
  return true;
}

// JSON numbers of every shape, and some that are not JSON.
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.nat({ max: 25 }), fc.boolean()).map(([m, k, neg]) => {
    const s = m.toString().padStart(k + 1, '0');
    return `${neg ? '-' : ''}${s.slice(0, s.length - k)}${k > 0 ? '.' + s.slice(s.length - k) : ''}`;
  }),
  fc.tuple(fc.integer({ min: -99999, max: 99999 }), fc.constantFrom('e', 'E', 'e+', 'e-', 'E-'), fc.nat({ max: 30 })).map(([m, e, x]) => `${m}${e}${x}`),
  fc.constantFrom('-0', '0.0', '-0.0e5', '1e400', '1e-400', '01', '1.', '.5', '-', '+1', '1e', '0x10', 'NaN', 'Infinity', '1_0', '9007199254740993', '123456789012345678'),
);
const value = fc.oneof({ weight: 6, arbitrary: numberText }, { weight: 1, arbitrary: fc.constantFrom('null', 'true', '"x"', '[1]', '{"a":1}', 'nul', 'nulls') });
const key = fc.oneof(fc.constantFrom(...WANTED), fc.constantFrom('c', 'ts2', 'A', 't\\u0073', 'ä', 'a b', ''), fc.string({ maxLength: 6 }));
const space = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');
const flatObject = fc
  .tuple(space, fc.array(fc.tuple(space, key, space, space, value, space), { maxLength: 8 }), space)
  .map(([lead, pairs, trail]) => `${lead}{${pairs.map(([s1, k, s2, s3, v, s4]) => `${s1}"${k}"${s2}:${s3}${v}${s4}`).join(',')}}${trail}`);

void test('whatever it accepts, it reads exactly as JSON.parse does', () => {
  let accepted = 0;
  fc.assert(
    fc.property(flatObject, (text) => {
      if (check(Buffer.from(text, 'utf8'))) accepted++;
    }),
    { seed: SEED, numRuns: 30_000 },
  );
  // Most generated objects hold something the fast path declines (17-digit doubles, strings, bad numbers).
  assert.ok(accepted > 1_000, `only ${accepted} of 30000 generated objects took the fast path`);
});

void test('sensor-like objects (numbers with up to 6 decimals, epoch ms, null) nearly always take the fast path', () => {
  let accepted = 0;
  const reading = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.nat({ max: 6 })).map(([x, k]) => x.toFixed(k)) },
    { weight: 1, arbitrary: fc.constant('null') },
  );
  const sensorObject = fc
    .tuple(fc.integer({ min: 1_500_000_000_000, max: 1_900_000_000_000 }), fc.array(fc.tuple(fc.constantFrom(...WANTED.slice(1, 4), 'x', 'y'), reading), { maxLength: 8 }))
    .map(([ts, pairs]) => JSON.stringify({ ts }).slice(0, -1) + pairs.map(([k, v]) => `,"${k}":${v}`).join('') + '}');
  fc.assert(
    fc.property(sensorObject, (text) => {
      if (check(Buffer.from(text))) accepted++;
    }),
    { seed: SEED, numRuns: 10_000 },
  );
  assert.ok(accepted > 9_900, `${accepted} of 10000 sensor-like objects took the fast path`);
});

void test('mutated payloads (bytes changed, cut, appended) are declined or read exactly as JSON.parse does', () => {
  const base = Buffer.from('{"ts":1767657600000,"a":1.0277,"b":-3.5e-2,"vib_x_rms":null,"x":7}');
  fc.assert(
    fc.property(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: base.length }), fc.constantFrom('', ' ', '}', ',', '"', 'x'), (at, byte, cut, extra) => {
      const b = Buffer.concat([base.subarray(0, cut), Buffer.from(extra)]);
      const m = Buffer.from(base);
      m[at] = byte;
      check(b);
      check(m);
    }),
    { seed: SEED, numRuns: 30_000 },
  );
});

void test('the payloads plants send take the fast path, and the decoder gives the same samples as before', () => {
  const slots = new FlatSlots(KEYS.length);
  const payload = Buffer.from('{"ts":1767657600000,"vib_x_rms":1.0277,"a":397.5724,"b":-0.5}');
  assert.equal(readFlatObject(payload, KEYS, slots), true);
  assert.deepEqual(WANTED.map((_, i) => slots.value(i)), [1767657600000, 397.5724, -0.5, 1.0277, undefined, undefined]);
  const decode = createDecoder({ kind: 'json', channels: ['vib_x_rms', 'a', 'b'], timestamp: { source: 'payload', field: 'ts', unit: 'ms' }, maxPayloadBytes: 1024 });
  const r = decode(payload, 1767657600000 + 5_000);
  assert.ok(r.ok);
  assert.equal(r.samples[0].ts, 1767657600000);
  assert.deepEqual(Array.from(r.samples[0].values), [1.0277, 397.5724, -0.5]);
  // Rejections come from the same checks as on the full path.
  const huge = decode(Buffer.from('{"ts":1767657600000,"vib_x_rms":1e16}'), 1767657600000);
  assert.deepEqual(huge, { ok: false, reason: 'invalid_number', detail: "channel 'vib_x_rms' exceeds 1000000000000000 in magnitude (10000000000000000)" });
  const noTime = decode(Buffer.from('{"vib_x_rms":1}'), 1767657600000);
  assert.deepEqual(noTime, { ok: false, reason: 'bad_timestamp', detail: "missing timestamp field 'ts'" });
});

void test('the key order learnt from one object is only a guess for the next', () => {
  const slots = new FlatSlots(KEYS.length);
  const read = (text: string): FlatValue[] => {
    assert.equal(readFlatObject(Buffer.from(text), KEYS, slots), true, text);
    return WANTED.map((_, i) => slots.value(i));
  };
  assert.deepEqual(read('{"ts":1,"a":2,"b":3}'), [1, 2, 3, undefined, undefined, undefined]);
  assert.deepEqual(read('{"ts":1,"a":2,"b":3}'), [1, 2, 3, undefined, undefined, undefined], 'same order: every guess right');
  assert.deepEqual(read('{"b":3,"ts":1,"a":2}'), [1, 2, 3, undefined, undefined, undefined], 'other order');
  assert.deepEqual(read('{"ts":1,"ab":9,"a":2}'), [1, 2, undefined, undefined, undefined, undefined], 'a longer key starting like the guess');
  assert.deepEqual(read('{"ts":1,"a":2}'), [1, 2, undefined, undefined, undefined, undefined], 'a key less');
  assert.equal(readFlatObject(Buffer.from('{"ts":1,"a'), KEYS, slots), false, 'cut inside the guessed key');
  assert.equal(readFlatObject(Buffer.from('{"ts":1,"a\\u0062":2}'), KEYS, slots), false, 'an escape after the guessed key');
});
