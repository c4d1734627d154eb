// Property-based fuzzing of every payload decoder: at least 100,000 generated and mutated payloads each (random
// bytes, invalid UTF-8, truncated and mutated JSON, NaN/Infinity, huge numbers, far-future and negative
// timestamps, duplicate and prototype keys, oversize payloads). Properties: a decoder never throws, every
// result is either samples with finite times and values of the right width or a rejection with a known reason,
// prototype keys never pollute Object.prototype, and valid payloads are still accepted. The seed is fixed and
// printed on failure (fast-check reports it with the counterexample).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RejectReason } from '../../../src/core/context';
import { createDecoder, type DecoderKind, type DecodeResult } from '../../../src/sources/decoders';
import { encodeF32le } from '../../../src/simulator/signals';

const SEED = 20261127;
const RUNS = 100_000;
const CHANNELS = ['a', 'b', 'c'];
const NOW = Date.parse('2026-11-27T00:00:00Z');
const MAX_BYTES = 4096;
const REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>([
  'oversize',
  'invalid_utf8',
  'invalid_json',
  'invalid_csv',
  'invalid_number',
  'invalid_binary',
  'missing_channel',
  'bad_timestamp',
  'future_timestamp',
  'too_old',
]);

function decoder(kind: DecoderKind): (payload: Uint8Array) => DecodeResult {
  const channels = kind === 'number' ? ['a'] : CHANNELS;
  const d = createDecoder({
    kind,
    channels,
    timestamp: { source: kind === 'number' ? 'arrival' : 'auto', field: 'ts', unit: 'ms' },
    sampleRateHz: 250,
    maxPayloadBytes: MAX_BYTES,
  });
  return (p) => d(p, NOW);
}

/** The property every decoder result must have, whatever the input. */
function wellFormed(kind: DecoderKind, r: DecodeResult): void {
  if (!r.ok) {
    assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
    assert.equal(typeof r.detail, 'string');
    assert.ok(r.detail.length > 0 && r.detail.length < 2000, 'a short, non-empty detail');
    return;
  }
  assert.ok(r.samples.length > 0);
  const width = kind === 'number' ? 1 : CHANNELS.length;
  for (const s of r.samples) {
    assert.ok(Number.isFinite(s.ts) && s.ts >= 0 && s.ts <= NOW + 86_400_000, `time ${s.ts}`);
    assert.equal(s.values.length, width);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      assert.ok(Number.isNaN(v) || (Number.isFinite(v) && Math.abs(v) <= 1e15), `value ${v}`);
    }
  }
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Awkward numbers and timestamps. */
const weirdNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, 1e308, -1e308, 1e16, -0, 0, 5e-324),
  fc.integer(),
);
const weirdTs = fc.oneof(
  fc.constantFrom(-1, 0, NOW, NOW + 10 * 86_400_000, 8.64e15, 1e20, NaN),
  fc.integer({ min: -1e12, max: 4e12 }),
  fc.constantFrom('2026-11-27T00:00:00Z', 'not a date', '9999-12-31T23:59:59Z', '', '2026-02-30T00:00:00Z'),
);
const keys = fc.oneof(fc.constantFrom('a', 'b', 'c', 'ts', '__proto__', 'constructor', 'prototype', 'toString'), fc.string({ maxLength: 6 }));

/** JSON-ish text: objects with channel-like keys, arrays, chunks, then truncated or mutated. */
const jsonText = fc
  .oneof(
    fc.dictionary(keys, fc.oneof(weirdNumber, fc.string(), fc.constant(null), fc.boolean()), { maxKeys: 8 }).map((o) => JSON.stringify(o)),
    fc.record({ ts: weirdTs, a: weirdNumber, b: weirdNumber, c: weirdNumber }).map((o) => JSON.stringify(o).replace('null', 'NaN')),
    fc.array(fc.record({ ts: weirdTs, a: weirdNumber, b: weirdNumber }), { maxLength: 5 }).map((a) => JSON.stringify(a)),
    fc.record({ ts: weirdTs, rate_hz: weirdNumber, samples: fc.array(fc.array(weirdNumber, { maxLength: 4 }), { maxLength: 6 }) }).map((o) => JSON.stringify(o)),
    fc.constant('{"a":1,"a":2,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
    fc.string({ maxLength: 200 }),
  )
  .chain((text) =>
    fc.oneof(
      fc.constant(text),
      fc.nat({ max: Math.max(0, text.length) }).map((n) => text.slice(0, n)),
      fc.tuple(fc.nat({ max: Math.max(0, text.length) }), fc.string({ maxLength: 3 })).map(([n, ins]) => text.slice(0, n) + ins + text.slice(n)),
    ),
  )
  .map(utf8);

/** Raw bytes, invalid UTF-8 sequences, oversize payloads, f32le buffers with odd lengths and NaN headers. */
const rawBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(Uint8Array.from([0xc3, 0x28]), Uint8Array.from([0xff, 0xfe, 0xfd]), Uint8Array.from([0xed, 0xa0, 0x80]), Uint8Array.from([0xf0, 0x28, 0x8c])),
  fc.nat({ max: 3 * MAX_BYTES }).map((n) => new Uint8Array(n).fill(0x31)),
  fc.array(weirdNumber, { maxLength: 40 }).map((vals) => new Uint8Array(encodeF32le(Float32Array.from(vals)))),
);

const csvText = fc
  .array(fc.oneof(weirdNumber.map(String), fc.constantFrom('', 'NaN', 'inf', '1e999', '0x10', '"1"', ' 2 ', '1,2'), fc.string({ maxLength: 5 })), { maxLength: 6 })
  .map((cells) => cells.join(','))
  .chain((line) => fc.constantFrom(line, line + '\n', line + '\r\n', line + '\nsecond,line'))
  .map(utf8);

const anyPayload = fc.oneof(jsonText, rawBytes, csvText);

for (const kind of ['json', 'json_array', 'csv', 'number', 'f32le'] as const) {
  test(`decoder ${kind}: ${RUNS} generated and mutated payloads, no throw, every result well formed`, () => {
    const decode = decoder(kind);
    const reasons = new Map<string, number>();
    let accepted = 0;
    fc.assert(
      fc.property(anyPayload, (payload) => {
        const r = decode(payload);
        wellFormed(kind, r);
        if (r.ok) accepted++;
        else reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');
    const counted = [...reasons.values()].reduce((a, b) => a + b, 0);
    assert.equal(accepted + counted, RUNS, 'each payload is accepted or rejected exactly once');
    console.log(`${kind}: ${accepted} accepted, rejected by reason ${JSON.stringify(Object.fromEntries(reasons))}`);
  });
}

test('valid payloads are still accepted after the fuzzing (decoders keep no bad state)', () => {
  const ts = NOW - 1000;
  assert.ok(decoder('json')(utf8(JSON.stringify({ ts, a: 1, b: 2, c: 3 }))).ok);
  assert.ok(decoder('json_array')(utf8(JSON.stringify({ ts, samples: [[1, 2, 3], [4, 5, 6]] }))).ok);
  assert.ok(decoder('csv')(utf8(`${ts},1,2,3`)).ok);
  assert.ok(decoder('number')(utf8('1.5')).ok);
  assert.ok(decoder('f32le')(new Uint8Array(encodeF32le(Float32Array.from([1, 2, 3, 4, 5, 6])))).ok);
});
