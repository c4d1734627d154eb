// The Sparkplug B host state machine (sparkplugState.ts) with payloads encoded by Eclipse Tahu's own library, as an
// edge node would send them: births build the alias table and start the samples, report-by-exception DATA holds
// the other channels, aliases are reset by a rebirth (and may name another metric), seq gaps and steps back are
// found, a stale NDEATH (an earlier connection's will) is ignored, deaths take streams offline and their data is
// refused until a birth, datatypes are read exactly and unsupported ones named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { get } from 'sparkplug-payload';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload';
import { org } from 'sparkplug-payload/lib/sparkplugPayloadProto';
import { readSparkplugPayload } from '../../../src/sources/sparkplugPayload';
import { SparkplugNodes, type SparkplugOutcome } from '../../../src/sources/sparkplugState';
import { parseSparkplugTopic, sparkplugStream, type SparkplugTopic } from '../../../src/sources/sparkplugTopic';

const codec = get('spBv1.0');
if (!codec) throw new Error('no spBv1.0 codec');
const T0 = 1_700_000_000_000;

function nodes(channels = ['temp', 'pressure'], source: 'auto' | 'payload' | 'arrival' = 'auto'): SparkplugNodes {
  return new SparkplugNodes({ channels, timestampSource: source, limits: { maxFutureSkewMs: 10_000, maxAgeMs: Infinity } });
}

type RawPayload = org.eclipse.tahu.protobuf.IPayload;

/**
 * Sends `payload` on `topic` at arrival T0 + 1 s, encoded by Tahu's encodePayload, or as `raw` protobuf fields by
 * Tahu's generated code: what encodePayload cannot write (a metric by alias alone, without datatype, as edge
 * nodes send DATA; a narrow Int8 encoding; a UInt64 beyond 2^53).
 */
function send(n: SparkplugNodes, topic: string, payload: UPayload | { raw: RawPayload }, arrival = T0 + 1000): SparkplugOutcome {
  const t = parseSparkplugTopic(topic) as SparkplugTopic;
  assert.equal(typeof t, 'object', `topic ${topic}`);
  const routed = sparkplugStream('{edge}/{device}', t);
  const bytes = 'raw' in payload ? org.eclipse.tahu.protobuf.Payload.encode(payload.raw).finish() : codec!.encodePayload(payload);
  return n.handle({ topic: t, stream: routed.ok ? routed.stream : null, payload: readSparkplugPayload(bytes), arrival });
}

const nbirth = (seq: number, bdSeq: number, extra: UPayload['metrics'] = []): UPayload => ({
  timestamp: T0, seq, metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }, ...(extra ?? [])],
});
const dbirth = (seq: number): UPayload => ({
  timestamp: T0, seq,
  metrics: [
    { name: 'temp', alias: 1, type: 'Double', value: 20.5 },
    { name: 'pressure', alias: 2, type: 'Float', value: 3 },
    { name: 'serial', alias: 3, type: 'String', value: 'X1' },
  ],
});

void test('births start the samples, DATA by alias holds the other channels, one sample per metric timestamp', () => {
  const n = nodes();
  const b = send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  assert.deepEqual(b.liveness, [{ stream: 'gw1', online: true, reason: "edge node 'gw1' born (NBIRTH)" }]);
  assert.equal(b.samples.length, 0, 'the node metrics feed no channel');
  const d = send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  assert.deepEqual(d.liveness.map((l) => [l.stream, l.online]), [['gw1/pump1', true]]);
  assert.deepEqual(d.samples.map((s) => [s.ts, Array.from(s.values)]), [[T0, [20.5, 3]]]);
  assert.deepEqual(d.notes, []);
  // Report by exception: only pressure changed, by alias, without datatype; two metric timestamps.
  const data = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', {
    raw: { timestamp: T0 + 2000, seq: 2, metrics: [{ alias: 2, timestamp: T0 + 1500, floatValue: 3.5 }, { alias: 1, timestamp: T0 + 1000, doubleValue: 21 }] },
  });
  assert.equal(data.rejected, undefined);
  assert.deepEqual(data.samples.map((s) => [s.ts, Array.from(s.values)]), [[T0 + 1000, [21, 3]], [T0 + 1500, [21, 3.5]]]);
  assert.equal(data.seqGap, undefined);
  assert.equal(data.rebirth, undefined);
});

void test('a seq that skips or steps back is a gap that wants a rebirth; the data is still taken', () => {
  const n = nodes();
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  const skip = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { seq: 4, timestamp: T0, metrics: [{ name: 'temp', type: 'Double', value: 22 }] });
  assert.deepEqual(skip.seqGap, { expected: 2, got: 4 });
  assert.match(skip.rebirth ?? '', /seq 4 where 2 was due/);
  assert.equal(skip.samples.length, 1);
  const back = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { seq: 3, timestamp: T0 + 10, metrics: [{ name: 'temp', type: 'Double', value: 23 }] });
  assert.deepEqual(back.seqGap, { expected: 5, got: 3 });
  const next = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { seq: 4, timestamp: T0 + 20, metrics: [{ name: 'temp', type: 'Double', value: 23 }] });
  assert.equal(next.seqGap, undefined, 'in order again after the step back');
  // 255 wraps to 0.
  const m = nodes();
  send(m, 'spBv1.0/plant/NBIRTH/gw1', nbirth(254, 0));
  assert.equal(send(m, 'spBv1.0/plant/NDATA/gw1', { seq: 255, metrics: [] }).seqGap, undefined);
  assert.equal(send(m, 'spBv1.0/plant/NDATA/gw1', { seq: 0, metrics: [] }).seqGap, undefined);
});

void test('an alias no birth defined is counted and wants a rebirth; the named metrics of the message are taken', () => {
  const n = nodes();
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  const out = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 2, timestamp: T0, metrics: [{ alias: 9, doubleValue: 1 }, { name: 'temp', datatype: 10, doubleValue: 30 }] } });
  assert.deepEqual(out.notes.map((x) => x.reason), ['unknown_alias']);
  assert.match(out.notes[0].detail, /alias 9/);
  assert.match(out.rebirth ?? '', /unknown alias 9/);
  assert.deepEqual(Array.from(out.samples[0].values), [30, 3]);
});

void test('data from a node whose birth was never seen: named metrics are used, aliases ask for a rebirth', () => {
  const n = nodes();
  const named = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { seq: 7, timestamp: T0, metrics: [{ name: 'temp', type: 'Int32', value: -4 }] });
  assert.equal(named.rejected, undefined);
  assert.deepEqual(Array.from(named.samples[0].values), [-4, NaN]);
  assert.equal(named.rebirth, undefined);
  const aliased = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 8, timestamp: T0 + 1, metrics: [{ alias: 1, doubleValue: 1 }] } });
  assert.ok(aliased.rebirth);
  assert.deepEqual(aliased.samples, []);
});

void test('a rebirth resets the aliases: an alias reused for another metric feeds that metric', () => {
  const n = nodes();
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  // The rebirth swaps the aliases of temp and pressure.
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  // Between NBIRTH and DBIRTH the device's old aliases are gone.
  const early = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 1, timestamp: T0, metrics: [{ alias: 1, doubleValue: 99 }] } });
  assert.deepEqual(early.notes.map((x) => x.reason), ['unknown_alias']);
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', {
    seq: 2, timestamp: T0 + 100,
    metrics: [{ name: 'temp', alias: 2, type: 'Double', value: 10 }, { name: 'pressure', alias: 1, type: 'Double', value: 1 }],
  });
  const data = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 3, timestamp: T0 + 200, metrics: [{ alias: 1, doubleValue: 2.5 }] } });
  assert.deepEqual(Array.from(data.samples[0].values), [10, 2.5], 'alias 1 is pressure now');
});

void test('NDEATH takes the node and its devices offline and refuses their data until a birth; a stale NDEATH is ignored', () => {
  const n = nodes();
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 5));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  const stale = send(n, 'spBv1.0/plant/NDEATH/gw1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] });
  assert.equal(stale.rejected?.reason, 'stale_death');
  assert.deepEqual(stale.liveness, []);
  const death = send(n, 'spBv1.0/plant/NDEATH/gw1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 5 }] });
  assert.deepEqual(death.liveness.map((l) => [l.stream, l.online]), [['gw1/pump1', false], ['gw1', false]]);
  assert.deepEqual(n.counts(), { nodes: 1, online: 0 });
  const late = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 2, timestamp: T0, metrics: [{ alias: 1, doubleValue: 1 }] } });
  assert.equal(late.rejected?.reason, 'not_born');
  assert.ok(late.rebirth);
  // Born again: the node, then the device, online; the device's data is read again.
  assert.deepEqual(send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 6)).liveness.map((l) => [l.stream, l.online]), [['gw1', true]]);
  const refusedDevice = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 1, timestamp: T0, metrics: [{ alias: 1, doubleValue: 1 }] } });
  assert.equal(refusedDevice.rejected?.reason, 'not_born', 'the device stays dead until its own DBIRTH');
  assert.deepEqual(send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(2)).liveness.map((l) => [l.stream, l.online]), [['gw1/pump1', true]]);
  assert.equal(send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 3, timestamp: T0 + 5, metrics: [{ alias: 1, doubleValue: 7 }] } }).samples.length, 1);
});

void test('DDEATH takes one device offline; the node and its other devices go on', () => {
  const n = nodes();
  send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', dbirth(1));
  send(n, 'spBv1.0/plant/DBIRTH/gw1/pump2', dbirth(2));
  const death = send(n, 'spBv1.0/plant/DDEATH/gw1/pump1', { seq: 3, metrics: [] });
  assert.deepEqual(death.liveness.map((l) => [l.stream, l.online]), [['gw1/pump1', false]]);
  assert.equal(send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { seq: 4, metrics: [{ alias: 1, doubleValue: 1 }] } }).rejected?.reason, 'not_born');
  assert.equal(send(n, 'spBv1.0/plant/DDATA/gw1/pump2', { raw: { seq: 5, timestamp: T0 + 1, metrics: [{ alias: 1, doubleValue: 1 }] } }).samples.length, 1);
});

void test('datatypes are read exactly: narrow signed ints, UInt32 above 2^31, Int64/UInt64 longs, booleans; beyond 2^53 is refused', () => {
  const cases: [string, unknown, number | string][] = [
    ['Int8', -5, -5], ['Int16', -300, -300], ['Int32', -70_000, -70_000], ['UInt8', 200, 200], ['UInt16', 65_000, 65_000],
    ['UInt32', 4_000_000_000, 4_000_000_000], ['Int64', -9_000_000_000, -9_000_000_000], ['UInt64', 999_999_999_999_999, 999_999_999_999_999],
    ['Float', 1.5, 1.5], ['Double', 0.1, 0.1], ['Boolean', true, 1], ['Boolean', false, 0],
  ];
  for (const [type, value, expected] of cases) {
    const n = nodes(['v']);
    const out = send(n, 'spBv1.0/plant/NDATA/gw1', { timestamp: T0, metrics: [{ name: 'v', type, value } as never] });
    assert.deepEqual(out.notes, [], `${type} ${String(value)}`);
    assert.equal(out.samples[0].values[0], expected, `${type} ${String(value)}`);
  }
  // The narrow two's complement encoding of Int8 (0xFB, as some edge nodes write it) reads as -5 too.
  const narrow = send(nodes(['v']), 'spBv1.0/plant/NDATA/gw1', { raw: { timestamp: T0, metrics: [{ name: 'v', datatype: 1, intValue: 0xfb }] } });
  assert.equal(narrow.samples[0].values[0], -5);
  // 2^53 + 1 as a uint64 (high word 0x200000, low word 1).
  const big = send(nodes(['v']), 'spBv1.0/plant/NDATA/gw1', { raw: { timestamp: T0, metrics: [{ name: 'v', datatype: 8, longValue: { low: 1, high: 0x200000, unsigned: true } as never }] } });
  assert.equal(big.samples.length, 0);
  assert.deepEqual(big.notes.map((x) => x.reason), ['invalid_number']);
  assert.match(big.notes[0].detail, /9007199254740993 is beyond 2\^53/);
});

void test('a channel metric of an unsupported type is counted and named; a null metric is a missing value', () => {
  const n = nodes(['status', 'temp']);
  const out = send(n, 'spBv1.0/plant/NBIRTH/gw1', {
    timestamp: T0, seq: 0,
    metrics: [{ name: 'status', type: 'String', value: 'RUN' }, { name: 'temp', type: 'Double', value: null }, { name: 'notes', type: 'Template', value: { metrics: [] } }],
  });
  assert.deepEqual(out.notes.map((x) => x.reason), ['unsupported_datatype']);
  assert.match(out.notes[0].detail, /metric 'status' \(channel status\) is String/);
  assert.deepEqual(out.samples.map((s) => Array.from(s.values)), [[NaN, NaN]]);
});

void test('metric names map to channels by name, or with other characters made "_"; a birth missing a channel says so', () => {
  const n = nodes(['Sensors_Temperature', 'flow']);
  assert.equal(n.channelOf('Sensors/Temperature'), 0);
  assert.equal(n.channelOf('flow'), 1);
  assert.equal(n.channelOf('Node Control/Rebirth'), -1);
  const out = send(n, 'spBv1.0/plant/DBIRTH/gw1/d1', { timestamp: T0, seq: 0, metrics: [{ name: 'Sensors/Temperature', type: 'Float', value: 1 }] });
  assert.deepEqual(out.notes.map((x) => [x.reason, x.detail]), [['missing_channel', 'DBIRTH has no metric for channel(s) flow']]);
});

void test('metric timestamps are the sample times; a payload without any falls back to arrival, or is refused with source payload', () => {
  const none = send(nodes(['v']), 'spBv1.0/plant/NDATA/gw1', { metrics: [{ name: 'v', type: 'Double', value: 1 }] }, T0 + 5);
  assert.equal(none.samples[0].ts, T0 + 5);
  const strict = send(nodes(['v'], 'payload'), 'spBv1.0/plant/NDATA/gw1', { metrics: [{ name: 'v', type: 'Double', value: 1 }] });
  assert.equal(strict.rejected?.reason, 'bad_timestamp');
  const future = send(nodes(['v']), 'spBv1.0/plant/NDATA/gw1', { metrics: [{ name: 'v', type: 'Double', value: 1, timestamp: T0 + 60_000 }] });
  assert.equal(future.rejected?.reason, 'future_timestamp');
  const arrival = send(nodes(['v'], 'arrival'), 'spBv1.0/plant/NDATA/gw1', { metrics: [{ name: 'v', type: 'Double', value: 1, timestamp: T0 - 99 }] }, T0 + 7);
  assert.equal(arrival.samples[0].ts, T0 + 7);
});

void test('topics: parts, the node stream without a device, commands and STATE carry no data', () => {
  assert.deepEqual(parseSparkplugTopic('spBv1.0/g/DDATA/e/d'), { group: 'g', type: 'DDATA', edge: 'e', device: 'd' });
  assert.match(parseSparkplugTopic('spBv1.0/g/DDATA/e') as string, /needs spBv1.0\/<group>\/DDATA\/<edge>\/<device>/);
  assert.match(parseSparkplugTopic('spBv1.0/g/XDATA/e') as string, /not a Sparkplug B type/);
  const node = sparkplugStream('{group}:{edge}/{device}', parseSparkplugTopic('spBv1.0/g/NDATA/e') as SparkplugTopic);
  assert.deepEqual(node.ok && node.stream, 'g:e');
  const n = nodes();
  assert.deepEqual(send(n, 'spBv1.0/g/NCMD/e', { metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] }), { samples: [], notes: [], liveness: [] });
  assert.deepEqual(n.counts(), { nodes: 0, online: 0 });
});

void test('channels learnt from births: the numeric metrics, sorted, per node and device; a changed set is a new list; data before a birth is refused', () => {
  const n = new SparkplugNodes({ channels: null, timestampSource: 'auto', limits: { maxFutureSkewMs: 10_000, maxAgeMs: Infinity } });
  // Data before any birth has no channels to go to.
  const early = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { timestamp: T0, seq: 1, metrics: [{ name: 'temp', type: 'Double', value: 1 }] });
  assert.equal(early.rejected?.reason, 'not_born');
  assert.match(early.rebirth ?? '', /before any birth/);
  // The node's own birth: bdSeq and Node Control are Sparkplug's, no channel; its numeric metric is one.
  const nb = send(n, 'spBv1.0/plant/NBIRTH/gw1', nbirth(0, 0, [{ name: 'Node Info/uptime', type: 'Int64', value: 5 }, { name: 'cpu load', type: 'Float', value: 0.5 }]));
  assert.deepEqual(nb.channels, ['cpu_load']);
  assert.deepEqual(nb.samples.map((s) => Array.from(s.values)), [[0.5]]);
  // The device's: sorted names (not birth order), the String left out, a leading digit and "/" made a channel name.
  const birth = (seq: number, metrics: UPayload['metrics']): SparkplugOutcome => send(n, 'spBv1.0/plant/DBIRTH/gw1/pump1', { timestamp: T0, seq, metrics });
  const d = birth(1, [
    { name: 'temp', alias: 1, type: 'Double', value: 20.5 },
    { name: 'Sensors/pressure', alias: 2, type: 'Float', value: 3 },
    { name: 'serial', alias: 3, type: 'String', value: 'X1' },
    { name: '2nd_stage', alias: 4, type: 'Int16', value: 7 },
    { name: 'Properties/rated_kw', alias: 5, type: 'Double', value: 55 },
  ]);
  assert.deepEqual(d.channels, ['Sensors_pressure', '_2nd_stage', 'temp']);
  assert.deepEqual(d.samples.map((s) => Array.from(s.values)), [[3, 7, 20.5]]);
  assert.deepEqual(d.notes, []);
  // DATA by alias goes to the learnt channels and names the same list (the same array: the pipeline compares by reference).
  const data = send(n, 'spBv1.0/plant/DDATA/gw1/pump1', { raw: { timestamp: T0 + 1000, seq: 2, metrics: [{ alias: 1, doubleValue: 21 }] } });
  assert.deepEqual(data.samples.map((s) => Array.from(s.values)), [[3, 7, 21]]);
  assert.equal(data.channels, d.channels);
  // A rebirth with the same set in another order: the same list, the same array.
  const same = birth(3, [
    { name: '2nd_stage', alias: 1, type: 'Int16', value: 8 },
    { name: 'temp', alias: 2, type: 'Double', value: 22 },
    { name: 'Sensors/pressure', alias: 3, type: 'Float', value: 3.5 },
  ]);
  assert.equal(same.channels, d.channels);
  assert.deepEqual(same.samples.map((s) => Array.from(s.values)), [[3.5, 8, 22]]);
  // Another set: a new list (the pipeline decides whether the stream may take it).
  const other = birth(4, [
    { name: 'temp', alias: 1, type: 'Double', value: 23 },
    { name: 'flow', alias: 2, type: 'Double', value: 9 },
  ]);
  assert.deepEqual(other.channels, ['flow', 'temp']);
  assert.deepEqual(other.samples.map((s) => Array.from(s.values)), [[9, 23]]);
  // Two metrics with one channel name: the second is left out, named.
  const clash = birth(5, [
    { name: 'a/b', alias: 1, type: 'Double', value: 1 },
    { name: 'a_b', alias: 2, type: 'Double', value: 2 },
  ]);
  assert.deepEqual(clash.channels, ['a_b']);
  assert.deepEqual(clash.notes.map((x) => x.reason), ['missing_channel']);
  assert.match(clash.notes[0]?.detail ?? '', /'a_b' have no channel: the same channel name as another metric/);
});
