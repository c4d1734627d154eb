import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload, type DecodeResult, type DecoderOptions } from '../../../src/sources/decoders';
import { F32LE_HEADER_BYTES, F32LE_MAGIC, encodeF32le, hasF32leHeader } from '../../../src/core/f32le';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

function opts(over: Partial<DecoderOptions> = {}): DecoderOptions {
  return { kind: 'f32le', channels: ['x', 'y', 'z'], sampleRateHz: 100, timestamp: { source: 'auto', field: 'ts', unit: 'ms' }, maxPayloadBytes: 65536, ...over };
}

function floats(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

function ok(r: DecodeResult): { ts: number; values: number[] }[] {
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  return r.samples.map((s) => ({ ts: s.ts, values: Array.from(s.values) }));
}

void test('headerless: channels interleaved, last sample at arrival, earlier ones 1/rate back', () => {
  const s = ok(decodePayload(floats([1, 2, 3, 4, 5, 6]), opts(), NOW));
  assert.deepEqual(s, [
    { ts: NOW - 10, values: [1, 2, 3] },
    { ts: NOW, values: [4, 5, 6] },
  ]);
});

void test('header: magic + int64 LE start time; sample i at start + i/rate', () => {
  const start = NOW - 60_000;
  const payload = encodeF32le([0.5, -0.25, 8, 1, 2, 3, 4, 5, 6], start);
  assert.equal(payload.length, F32LE_HEADER_BYTES + 36);
  assert.deepEqual([...payload.subarray(0, 4)], [...F32LE_MAGIC]);
  assert.equal(payload.readBigInt64LE(4), BigInt(start));
  assert.ok(hasF32leHeader(payload));
  const s = ok(decodePayload(payload, opts(), NOW));
  assert.deepEqual(s.map((x) => x.ts), [start, start + 10, start + 20]);
  assert.deepEqual(s[0].values, [0.5, -0.25, 8]);
  assert.deepEqual(s[2].values, [4, 5, 6]);
});

void test('the magic decodes as a NaN float, so it is never a plausible value', () => {
  assert.ok(Number.isNaN(F32LE_MAGIC.readFloatLE(0)));
});

void test('timestamp source: arrival ignores the header time; payload requires a header', () => {
  const payload = encodeF32le([1, 2, 3], NOW - 5000);
  assert.equal(ok(decodePayload(payload, opts({ timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }), NOW))[0].ts, NOW);
  const r = decodePayload(floats([1, 2, 3]), opts({ timestamp: { source: 'payload', field: 'ts', unit: 'ms' } }), NOW);
  assert.ok(!r.ok && r.reason === 'bad_timestamp' && /no header/.test(r.detail));
});

void test('a buffer at an unaligned offset inside a larger ArrayBuffer decodes correctly', () => {
  const big = Buffer.alloc(3 + 12);
  floats([7, 8, 9]).copy(big, 3);
  assert.deepEqual(ok(decodePayload(big.subarray(3), opts(), NOW))[0].values, [7, 8, 9]);
});

void test('NaN is a missing value; all-NaN, Infinity and huge values are rejected', () => {
  const [s] = ok(decodePayload(floats([NaN, 1, 2]), opts(), NOW));
  assert.ok(Number.isNaN(s.values[0]));
  const reason = (b: Buffer): string => {
    const r = decodePayload(b, opts(), NOW);
    return r.ok ? 'ok' : `${r.reason}: ${r.detail}`;
  };
  assert.match(reason(floats([NaN, NaN, NaN])), /^missing_channel/);
  assert.match(reason(floats([1, Infinity, 2])), /^invalid_number: sample 0 channel 1/);
  assert.match(reason(floats([1, 2, 3, 1, 2, -Infinity])), /^invalid_number: sample 1 channel 2/);
  assert.match(reason(floats([1, 2, 3e30])), /^invalid_number/);
});

void test('framing errors: empty, header only, partial samples', () => {
  const reason = (b: Buffer): string => {
    const r = decodePayload(b, opts(), NOW);
    return r.ok ? 'ok' : `${r.reason}: ${r.detail}`;
  };
  assert.match(reason(Buffer.alloc(0)), /^invalid_binary: empty/);
  assert.match(reason(encodeF32le([], NOW)), /^invalid_binary: header without samples/);
  assert.match(reason(Buffer.alloc(13)), /^invalid_binary: 13 data bytes are not a whole number of samples \(3 channel/);
  assert.match(reason(floats([1, 2])), /^invalid_binary: 8 data bytes/);
});

void test('header time: negative and beyond int53 are bad_timestamp, far future is future_timestamp', () => {
  const withTime = (t: bigint): Buffer => {
    const b = encodeF32le([1, 2, 3], 0);
    b.writeBigInt64LE(t, 4);
    return b;
  };
  for (const t of [-1n, 2n ** 62n, -(2n ** 63n)]) {
    const r = decodePayload(withTime(t), opts(), NOW);
    assert.ok(!r.ok && r.reason === 'bad_timestamp', `${t}: ${r.ok ? 'accepted' : r.detail}`);
  }
  for (const [t, reason] of [[BigInt(NOW + 2 * 86_400_000), 'future_timestamp'], [1000n, 'too_old']] as const) {
    const r = decodePayload(withTime(t), opts(), NOW);
    assert.ok(!r.ok && r.reason === reason, `${t}: ${r.ok ? 'accepted' : r.detail}`);
  }
});

void test('a fractional sample period gives exact fractional times', () => {
  const s = ok(decodePayload(encodeF32le([1, 2, 3, 4], NOW - 1000), opts({ channels: ['x'], sampleRateHz: 3 }), NOW));
  const start = NOW - 1000;
  assert.deepEqual(s.map((x) => x.ts), [start, start + 1000 / 3, start + 2000 / 3, start + 1000]);
});
