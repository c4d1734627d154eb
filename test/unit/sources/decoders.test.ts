import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RejectReason } from '../../../src/core/context';
import { createDecoder, decodePayload, decoderProblems, type DecodeResult, type DecoderOptions } from '../../../src/sources/decoders';
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_FUTURE_SKEW_MS, MAX_FUTURE_MS, offset } from '../../../src/sources/decodeValues';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const T = Date.UTC(2024, 5, 1, 11, 59, 0);

function opts(over: Partial<DecoderOptions> = {}): DecoderOptions {
  return { kind: 'json', channels: ['a', 'b'], timestamp: { source: 'auto', field: 'ts', unit: 'ms' }, maxPayloadBytes: 4096, ...over };
}

function decode(payload: string | Buffer, over: Partial<DecoderOptions> = {}): DecodeResult {
  return decodePayload(typeof payload === 'string' ? Buffer.from(payload) : payload, opts(over), NOW);
}

function ok(r: DecodeResult): { ts: number; values: number[] }[] {
  if (!r.ok) assert.fail(`expected samples, got ${r.reason}: ${r.detail}`);
  return r.samples.map((s) => ({ ts: s.ts, values: Array.from(s.values) }));
}

function rejected(r: DecodeResult, reason: RejectReason, detail?: RegExp): void {
  if (r.ok) assert.fail(`expected rejection '${reason}', got ${r.samples.length} samples`);
  assert.equal(r.reason, reason, r.detail);
  if (detail) assert.match(r.detail, detail);
}

// ---- json

void test('json: channels by name in channel order, ms timestamp, extra keys ignored', () => {
  assert.deepEqual(ok(decode(`{"b": 2.5, "ts": ${T}, "a": -1, "other": "x"}`)), [{ ts: T, values: [-1, 2.5] }]);
});

void test('json: timestamp in seconds and ISO 8601 (with zone, offset, fraction, no zone = UTC)', () => {
  assert.equal(ok(decode(`{"a":1,"time":${T / 1000}}`, { timestamp: { source: 'auto', field: 'time', unit: 's' } }))[0].ts, T);
  assert.equal(ok(decode(`{"a":1,"ts":1717243140.5}`, { timestamp: { source: 'auto', field: 'ts', unit: 's' } }))[0].ts, T + 500);
  const iso = (s: string): number => ok(decode(`{"a":1,"ts":"${s}"}`, { timestamp: { source: 'auto', field: 'ts', unit: 'iso8601' } }))[0].ts;
  assert.equal(iso('2024-06-01T11:59:00Z'), T);
  assert.equal(iso('2024-06-01T13:59:00.250+02:00'), T + 250);
  assert.equal(iso('2024-06-01T11:59:00'), T);
});

void test('json: missing channel and null are NaN; no channel at all is missing_channel', () => {
  const [s] = ok(decode(`{"a": 3, "ts": ${T}}`));
  assert.equal(s.values[0], 3);
  assert.ok(Number.isNaN(s.values[1]));
  assert.ok(Number.isNaN(ok(decode(`{"a": null, "b": 1}`))[0].values[0]));
  rejected(decode(`{"ts": ${T}, "c": 1}`), 'missing_channel', /a, b/);
  rejected(decode(`{"a": null, "b": null}`), 'missing_channel');
});

void test('json: auto uses arrival time without the field; payload requires it; arrival ignores it', () => {
  assert.equal(ok(decode('{"a":1}'))[0].ts, NOW);
  rejected(decode('{"a":1}', { timestamp: { source: 'payload', field: 'ts', unit: 'ms' } }), 'bad_timestamp', /missing timestamp field 'ts'/);
  assert.equal(ok(decode(`{"a":1,"ts":"garbage"}`, { timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }))[0].ts, NOW);
});

void test('json: non-numeric values, NaN/Infinity spellings and huge numbers are rejected', () => {
  rejected(decode('{"a":"1.5"}'), 'invalid_number', /channel 'a' is a string/);
  rejected(decode('{"a":true}'), 'invalid_number', /boolean/);
  rejected(decode('{"a":[1]}'), 'invalid_number', /array/);
  rejected(decode('{"a":{"v":1}}'), 'invalid_number', /object/);
  rejected(decode('{"a":1e400}'), 'invalid_number', /not finite/);
  rejected(decode('{"a":1e16}'), 'invalid_number', /exceeds/);
  rejected(decode('{"a":NaN}'), 'invalid_json');
  rejected(decode('{"a":Infinity}'), 'invalid_json');
});

void test('json: bad timestamps: negative, far future, wrong type, NaN-like, invalid ISO', () => {
  rejected(decode('{"a":1,"ts":-1}'), 'bad_timestamp', /before 1970/);
  rejected(decode(`{"a":1,"ts":${NOW + DEFAULT_MAX_FUTURE_SKEW_MS + 1}}`), 'future_timestamp', /ahead of arrival/);
  assert.equal(ok(decode(`{"a":1,"ts":${NOW + DEFAULT_MAX_FUTURE_SKEW_MS}}`))[0].ts, NOW + DEFAULT_MAX_FUTURE_SKEW_MS);
  rejected(decode('{"a":1,"ts":1e308}'), 'future_timestamp', /ahead of arrival/);
  rejected(decode('{"a":1,"ts":"1717243140000"}'), 'bad_timestamp', /string/);
  rejected(decode('{"a":1,"ts":null}'), 'bad_timestamp', /null/);
  const iso = { timestamp: { source: 'auto', field: 'ts', unit: 'iso8601' } } as const;
  rejected(decode('{"a":1,"ts":"2024-02-30T00:00:00Z"}', iso), 'bad_timestamp', /ISO 8601/);
  rejected(decode('{"a":1,"ts":"yesterday"}', iso), 'bad_timestamp', /ISO 8601/);
  rejected(decode(`{"a":1,"ts":${T}}`, iso), 'bad_timestamp', /expected an ISO 8601 string/);
  rejected(decode('{"a":1,"ts":"9999-01-01T00:00:00Z"}', iso), 'future_timestamp', /ahead of arrival/);
});

void test('json: not an object, truncated, empty, invalid UTF-8', () => {
  rejected(decode('[1,2]'), 'invalid_json', /expected a JSON object, got an array/);
  rejected(decode('42'), 'invalid_json', /number/);
  rejected(decode('null'), 'invalid_json', /null/);
  rejected(decode('{"a": 1'), 'invalid_json');
  rejected(decode(''), 'invalid_json');
  rejected(decode(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0xff, 0x7d])), 'invalid_utf8');
  rejected(decode(Buffer.from([0xc3, 0x28])), 'invalid_utf8');
});

void test('json: __proto__ and constructor keys are plain data and pollute nothing', () => {
  const r = decode(`{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}, "a": 1}`);
  assert.deepEqual(ok(r)[0].values.slice(0, 1), [1]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // Channels named like prototype properties read only own keys: absent means missing, not Object's function.
  const proto = { channels: ['constructor', 'toString', '__proto__'] };
  const [s] = ok(decode('{"__proto__": 7, "toString": 2}', proto));
  assert.ok(Number.isNaN(s.values[0]));
  assert.deepEqual(s.values.slice(1), [2, 7]);
  rejected(decode('{"a":1}', proto), 'missing_channel');
});

void test('json: duplicate keys: the last one wins (JSON.parse semantics)', () => {
  assert.deepEqual(ok(decode('{"a": 1, "a": 2}'))[0].values.slice(0, 1), [2]);
});

void test('oversize is checked before parsing, for every decoder', () => {
  for (const kind of ['json', 'json_array', 'csv', 'number', 'f32le'] as const) {
    const o = { kind, maxPayloadBytes: 8, sampleRateHz: 10, channels: kind === 'number' ? ['a'] : ['a', 'b'] };
    rejected(decode(Buffer.from('not even valid {{{'), o), 'oversize', /payload of 18 bytes exceeds 8/);
    // Exactly at the cap is fine as far as size goes.
    const r = decode(Buffer.alloc(8, 0x20), o);
    assert.ok(r.ok || r.reason !== 'oversize', kind);
  }
});

// ---- json_array

const arr = (over: Partial<DecoderOptions> = {}): Partial<DecoderOptions> => ({ kind: 'json_array', ...over });

void test('json_array: array of objects with timestamps', () => {
  assert.deepEqual(ok(decode(`[{"ts":${T},"a":1,"b":2},{"ts":${T + 100},"a":3}]`, arr())).map((s) => s.ts), [T, T + 100]);
  const s = ok(decode(`[{"ts":${T},"a":1,"b":2},{"ts":${T + 100},"a":3}]`, arr()));
  assert.deepEqual(s[0].values, [1, 2]);
  assert.equal(s[1].values[0], 3);
  assert.ok(Number.isNaN(s[1].values[1]));
});

void test('json_array: objects without timestamps end at arrival, spaced by the sample rate', () => {
  const s = ok(decode('[{"a":1},{"a":2},{"a":3}]', arr({ sampleRateHz: 10 })));
  assert.deepEqual(s.map((x) => x.ts), [NOW - 200, NOW - 100, NOW]);
  rejected(decode('[{"a":1},{"a":2}]', arr()), 'bad_timestamp', /no sample rate/);
  rejected(decode(`[{"a":1,"ts":${T}},{"a":2}]`, arr({ sampleRateHz: 10 })), 'bad_timestamp', /all or none/);
});

void test('json_array: chunk {ts, rate_hz, samples} with rows, plain numbers for one channel, configured rate', () => {
  const s = ok(decode(`{"ts":${T},"rate_hz":4,"samples":[[1,2],[3,null],[5,6]]}`, arr()));
  assert.deepEqual(s.map((x) => x.ts), [T, T + 250, T + 500]);
  assert.deepEqual(s[2].values, [5, 6]);
  assert.ok(Number.isNaN(s[1].values[1]));
  const one = ok(decode(`{"ts":${T},"samples":[0.1,0.2,null,0.4]}`, arr({ channels: ['ecg'], sampleRateHz: 250 })));
  assert.deepEqual(one.map((x) => x.ts), [T, T + 4, T + 8, T + 12]);
  assert.deepEqual(one.map((x) => x.values[0]).slice(0, 2), [0.1, 0.2]);
  // No start time: the last sample is at arrival.
  assert.deepEqual(ok(decode('{"samples":[[1,2],[3,4]]}', arr({ sampleRateHz: 2 }))).map((x) => x.ts), [NOW - 500, NOW]);
  // ISO start time.
  const iso = ok(decode('{"ts":"2024-06-01T11:59:00Z","rate_hz":2,"samples":[[1,2],[3,4]]}', arr({ timestamp: { source: 'payload', field: 'ts', unit: 'iso8601' } })));
  assert.deepEqual(iso.map((x) => x.ts), [T, T + 500]);
});

void test('json_array: bad shapes and values are rejected with their position', () => {
  rejected(decode('{"a":1}', arr()), 'invalid_json', /"samples"/);
  rejected(decode('[]', arr()), 'missing_channel', /empty/);
  rejected(decode('[{"a":1}, 5]', arr({ sampleRateHz: 1 })), 'invalid_json', /element 1 is a number/);
  rejected(decode('[{"a":"x"}]', arr()), 'invalid_number', /element 0 channel 'a'/);
  rejected(decode('[{"c":1},{"d":2}]', arr({ sampleRateHz: 1 })), 'missing_channel');
  rejected(decode('{"samples":5}', arr()), 'invalid_json', /expected an array/);
  rejected(decode('{"samples":[]}', arr()), 'missing_channel');
  rejected(decode(`{"ts":${T},"rate_hz":1,"samples":[[1]]}`, arr()), 'missing_channel', /sample 0 has 1 value/);
  rejected(decode(`{"ts":${T},"rate_hz":1,"samples":[[1,2,3]]}`, arr()), 'invalid_json', /sample 0 has 3 values/);
  rejected(decode(`{"ts":${T},"rate_hz":1,"samples":[1,2]}`, arr()), 'invalid_json', /sample 0 is a number/);
  rejected(decode(`{"ts":${T},"rate_hz":1,"samples":[[1,"2"]]}`, arr()), 'invalid_number', /sample 0 channel 'b'/);
  rejected(decode(`{"ts":${T},"rate_hz":0,"samples":[[1,2]]}`, arr()), 'invalid_number', /rate_hz/);
  rejected(decode(`{"ts":${T},"rate_hz":"fast","samples":[[1,2]]}`, arr()), 'invalid_number', /rate_hz/);
  rejected(decode(`{"ts":${T},"samples":[[1,2],[3,4]]}`, arr()), 'bad_timestamp', /needs "rate_hz"/);
  rejected(decode(`{"ts":${T},"samples":[[null,null]]}`, arr()), 'missing_channel');
  rejected(decode(`[{"ts":${T + 100},"a":1},{"ts":${T},"a":2}]`, arr()), 'bad_timestamp', /time order/);
  // A chunk whose end lies beyond the future limit.
  rejected(decode(`{"ts":${NOW + DEFAULT_MAX_FUTURE_SKEW_MS - 500},"rate_hz":1,"samples":[[1,2],[3,4]]}`, arr()), 'future_timestamp', /last sample time/);
});

// ---- csv

const csv = (over: Partial<DecoderOptions> = {}): Partial<DecoderOptions> => ({ kind: 'csv', ...over });

void test('csv: values in channel order, optional leading timestamp, empty cell = missing, trailing newline', () => {
  assert.deepEqual(ok(decode('1.5,-2e3\n', csv())), [{ ts: NOW, values: [1.5, -2000] }]);
  assert.deepEqual(ok(decode(` ${T} , 1 , 2 \r\n`, csv())), [{ ts: T, values: [1, 2] }]);
  assert.deepEqual(ok(decode(`${T / 1000},1,2`, csv({ timestamp: { source: 'payload', field: 'ts', unit: 's' } })))[0].ts, T);
  assert.equal(ok(decode('2024-06-01T11:59:00Z,1,2', csv({ timestamp: { source: 'auto', field: 'ts', unit: 'iso8601' } })))[0].ts, T);
  assert.equal(ok(decode(`${T},1,2`, csv({ timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } })))[0].ts, NOW);
  const [s] = ok(decode('1,', csv()));
  assert.equal(s.values[0], 1);
  assert.ok(Number.isNaN(s.values[1]));
});

void test('csv: rejections', () => {
  rejected(decode('1,2\n3,4', csv()), 'invalid_csv', /more than one line/);
  rejected(decode('', csv()), 'invalid_csv', /empty/);
  rejected(decode('"1",2', csv()), 'invalid_csv', /quoted/);
  rejected(decode('1', csv()), 'missing_channel', /1 field/);
  rejected(decode('1,2,3,4', csv()), 'invalid_csv', /4 fields/);
  rejected(decode(',', csv()), 'missing_channel', /empty/);
  rejected(decode('1,NaN', csv()), 'invalid_number', /channel 'b'/);
  rejected(decode('Infinity,1', csv()), 'invalid_number');
  rejected(decode('0x10,1', csv()), 'invalid_number');
  rejected(decode('1e999,1', csv()), 'invalid_number', /not finite/);
  rejected(decode('1,2', csv({ timestamp: { source: 'payload', field: 'ts', unit: 'ms' } })), 'bad_timestamp', /no leading timestamp/);
  rejected(decode('-5,1,2', csv()), 'bad_timestamp', /before 1970/);
  rejected(decode('soon,1,2', csv()), 'bad_timestamp', /not a number/);
  rejected(decode(Buffer.from([0x31, 0x2c, 0xfe]), csv()), 'invalid_utf8');
});

// ---- number

const num = { kind: 'number', channels: ['level'] } as const;

void test('number: one value at arrival time', () => {
  assert.deepEqual(ok(decode(' 42.5\n', num)), [{ ts: NOW, values: [42.5] }]);
  assert.deepEqual(ok(decode('-1e-3', num))[0].values, [-0.001]);
});

void test('number: rejections', () => {
  rejected(decode('', num), 'invalid_number', /empty/);
  rejected(decode('NaN', num), 'invalid_number');
  rejected(decode('inf', num), 'invalid_number');
  rejected(decode('1,2', num), 'invalid_number');
  rejected(decode('{"v":1}', num), 'invalid_number');
  rejected(decode('2e15', num), 'invalid_number', /exceeds/);
  rejected(decode('9'.repeat(100), num), 'invalid_number');
  rejected(decode(Buffer.from([0x34, 0xff]), num), 'invalid_utf8');
});

// ---- options

void test('decoder options are validated once', () => {
  assert.deepEqual(decoderProblems(opts()), []);
  assert.match(decoderProblems(opts({ kind: 'f32le' })).join(), /needs sample_rate_hz/);
  assert.match(decoderProblems(opts({ kind: 'number' })).join(), /one channel/);
  assert.match(decoderProblems(opts({ kind: 'number', channels: ['x'], timestamp: { source: 'payload', field: 'ts', unit: 'ms' } })).join(), /no timestamp/);
  assert.match(decoderProblems(opts({ channels: ['ts', 'b'] })).join(), /also a channel/);
  assert.match(decoderProblems(opts({ channels: ['a', 'a'] })).join(), /unique/);
  assert.throws(() => createDecoder(opts({ kind: 'f32le' })), /sample_rate_hz/);
});

void test('a decoder never throws: random bytes always give a result', () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const kind of ['json', 'json_array', 'csv', 'number', 'f32le'] as const) {
    const d = createDecoder(opts({ kind, channels: kind === 'number' ? ['a'] : ['a', 'b'], sampleRateHz: 100 }));
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.alloc(Math.floor(rnd() * 40));
      for (let j = 0; j < buf.length; j++) buf[j] = rnd() < 0.7 ? ' {}[],:"0123456789.-eaEbts'.charCodeAt(Math.floor(rnd() * 27)) : Math.floor(rnd() * 256);
      const r = d(buf, NOW);
      assert.equal(typeof r.ok, 'boolean', `seed 12345, ${kind} #${i}`);
      if (r.ok) for (const s of r.samples) assert.ok(Number.isFinite(s.ts), `${kind}: ${buf.toString('hex')}`);
    }
  }
});

// ---- time limits (timestamp.max_future_skew_ms, timestamp.max_age_ms)

const H = 3_600_000;
const limits = (maxFutureSkewMs?: number, maxAgeMs?: number): Partial<DecoderOptions> => ({
  timestamp: { source: 'auto', field: 'ts', unit: 'ms', ...(maxFutureSkewMs !== undefined ? { maxFutureSkewMs } : {}), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) },
});

void test('a sample 23 h ahead of arrival is future_timestamp, and the detail names the offset and the limit', () => {
  rejected(decode(`{"a":1,"ts":${NOW + 23 * H}}`), 'future_timestamp', /82800000 ms \(23\.0 h\) ahead of arrival \(2024-06-02T11:00:00\.000Z; max_future_skew_ms 10000\)/);
});

void test('a sample dated 1970 is too_old; the boundary of max_age_ms is inclusive', () => {
  rejected(decode('{"a":1,"ts":1000}'), 'too_old', /before arrival \(1970-01-01T00:00:01\.000Z; max_age_ms 604800000\)/);
  assert.equal(ok(decode(`{"a":1,"ts":${NOW - DEFAULT_MAX_AGE_MS}}`))[0].ts, NOW - DEFAULT_MAX_AGE_MS);
  rejected(decode(`{"a":1,"ts":${NOW - DEFAULT_MAX_AGE_MS - 1}}`), 'too_old');
});

void test('a broker backlog of hours (persistent session after an outage) is accepted by default', () => {
  assert.equal(ok(decode(`{"a":1,"ts":${NOW - 30 * H}}`))[0].ts, NOW - 30 * H);
});

void test('the limits are per subscription: wider, narrower, and max_age_ms 0 = no age limit', () => {
  assert.equal(ok(decode(`{"a":1,"ts":${NOW + H}}`, limits(2 * H)))[0].ts, NOW + H);
  rejected(decode(`{"a":1,"ts":${NOW + 2}}`, limits(1)), 'future_timestamp');
  assert.equal(ok(decode(`{"a":1,"ts":${NOW}}`, limits(0)))[0].ts, NOW);
  rejected(decode(`{"a":1,"ts":${NOW - 2 * H}}`, limits(undefined, H)), 'too_old', /max_age_ms 3600000/);
  assert.equal(ok(decode('{"a":1,"ts":1000}', limits(undefined, 0)))[0].ts, 1000);
});

void test('every decoder with payload times applies the limits; arrival times are never checked', () => {
  const future = NOW + 23 * H;
  rejected(decode(`${future},1,2`, { kind: 'csv' }), 'future_timestamp');
  rejected(decode(`1000,1,2`, { kind: 'csv' }), 'too_old');
  rejected(decode(`[{"ts":${T},"a":1},{"ts":${future},"a":2}]`, { kind: 'json_array', sampleRateHz: 1 }), 'future_timestamp', /element 1/);
  rejected(decode(`{"ts":1000,"rate_hz":1,"samples":[[1,2]]}`, { kind: 'json_array' }), 'too_old');
  rejected(decode(`{"a":1,"ts":"1970-01-01T00:00:01Z"}`, { timestamp: { source: 'auto', field: 'ts', unit: 'iso8601' } }), 'too_old');
  rejected(decode(`{"a":1,"ts":${future / 1000}}`, { timestamp: { source: 'auto', field: 'ts', unit: 's' } }), 'future_timestamp');
  // Timestamp source arrival ignores the payload's time, so a wrong clock there cannot reject the message.
  assert.equal(ok(decode(`{"a":1,"ts":${future}}`, { timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }))[0].ts, NOW);
  assert.equal(ok(decode('1.5', { kind: 'number', channels: ['a'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }))[0].ts, NOW);
});

void test('limits outside their range are option problems', () => {
  assert.match(decoderProblems(opts(limits(MAX_FUTURE_MS + 1))).join('\n'), /max future skew/);
  assert.match(decoderProblems(opts(limits(-1))).join('\n'), /max future skew/);
  assert.match(decoderProblems(opts(limits(undefined, 1.5))).join('\n'), /max age/);
  assert.deepEqual(decoderProblems(opts(limits(0, 0))), []);
});

void test('offset says the size in a readable unit beside the milliseconds', () => {
  assert.equal(offset(1500), '1500 ms (1.5 s)');
  assert.equal(offset(90_000), '90000 ms (1.5 min)');
  assert.equal(offset(2 * 86_400_000), '172800000 ms (2.0 d)');
});
