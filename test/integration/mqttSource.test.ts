// MqttSource against a real Mosquitto: every decoder end to end, bad payloads counted and acknowledged,
// backpressure (acks wait for deliver), persistent sessions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import type { StreamSamples } from '../../src/sources/source';
import { ManualClock } from '../../src/core/clock';
import { MqttSource, REFUSED_WARN_INTERVAL_MS, type MqttSourceOptions, type MqttSubscriptionOptions } from '../../src/sources/mqtt';
import { encodeF32le } from '../../src/core/f32le';
import { testContext, type TestContext } from '../helpers/context';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

let broker: Mosquitto;
let pub: MqttClient;

before(async () => {
  broker = await startMosquitto();
  pub = await connectAsync(broker.url, { clientId: 'test-publisher' });
});

after(async () => {
  await pub?.endAsync();
  await broker?.close();
});

const ts = { source: 'auto', field: 'ts', unit: 'ms' } as const;
let clientSeq = 0;

function sub(prefix: string, over: Partial<MqttSubscriptionOptions> = {}): MqttSubscriptionOptions {
  return { topic: `${prefix}/+/+`, template: `${prefix}/{line}/{asset}`, stream: '{line}/{asset}', decoder: 'json', channels: ['a', 'b'], timestamp: ts, ...over };
}

function source(t: TestContext, subscriptions: MqttSubscriptionOptions[], over: Partial<MqttSourceOptions> = {}): MqttSource {
  return new MqttSource(t.ctx, { url: broker.url, clientId: `anomalyd-test-${process.pid}-${++clientSeq}`, subscriptions, reconnect: { minDelayMs: 100, maxDelayMs: 500, jitter: 0.2 }, ...over });
}

function values(b: StreamSamples): number[][] {
  return b.samples.map((s) => Array.from(s.values));
}

void test('messages of every decoder arrive as samples on the right streams', async () => {
  const t = testContext('source.mqtt');
  const got: StreamSamples[] = [];
  const s = source(t, [
    sub('dec/json'),
    sub('dec/arr', { decoder: 'json_array', sampleRateHz: 10 }),
    sub('dec/csv', { decoder: 'csv' }),
    { topic: 'dec/num/#', stream: 'num:{topic}', decoder: 'number', channels: ['level'], timestamp: { ...ts, source: 'arrival' } },
    sub('dec/bin', { decoder: 'f32le', channels: ['x', 'y'], sampleRateHz: 100 }),
  ]);
  await s.start((b) => void got.push(b));
  try {
    assert.equal(s.connected, true);
    const T = Date.now() - 60_000;
    await pub.publishAsync('dec/json/line1/pump1', JSON.stringify({ ts: T, a: 1.5, b: -2 }), { qos: 1 });
    await pub.publishAsync('dec/arr/line1/pump2', JSON.stringify({ ts: T, rate_hz: 2, samples: [[1, 2], [3, 4], [5, null]] }), { qos: 1 });
    await pub.publishAsync('dec/csv/line2/fan1', `${T},7,8`, { qos: 1 });
    await pub.publishAsync('dec/num/tank/3', '42.25', { qos: 1 });
    await pub.publishAsync('dec/bin/line3/motor', encodeF32le([0.5, 1.5, 2.5, 3.5], T), { qos: 1 });
    await waitFor(() => got.length === 5, '5 deliveries', 10_000, () => got.map((g) => g.stream));
    const by = new Map(got.map((g) => [g.stream, g]));
    const json = by.get('line1/pump1');
    assert.ok(json);
    assert.equal(json.subscription, 0);
    assert.deepEqual(json.labels, { line: 'line1', asset: 'pump1' });
    assert.deepEqual(values(json), [[1.5, -2]]);
    assert.equal(json.samples[0].ts, T);
    const arr = by.get('line1/pump2');
    assert.ok(arr);
    assert.equal(arr.subscription, 1);
    assert.deepEqual(arr.samples.map((x) => x.ts), [T, T + 500, T + 1000]);
    assert.deepEqual(values(arr).slice(0, 2), [[1, 2], [3, 4]]);
    assert.ok(Number.isNaN(values(arr)[2][1]));
    const csv = by.get('line2/fan1');
    assert.ok(csv);
    assert.equal(csv.subscription, 2);
    assert.deepEqual(values(csv), [[7, 8]]);
    assert.equal(csv.samples[0].ts, T);
    const num = by.get('num:dec/num/tank/3');
    assert.ok(num);
    assert.equal(num.subscription, 3);
    assert.deepEqual(values(num), [[42.25]]);
    assert.ok(Math.abs(num.samples[0].ts - Date.now()) < 5000);
    const bin = by.get('line3/motor');
    assert.ok(bin);
    assert.equal(bin.subscription, 4);
    assert.deepEqual(values(bin), [[0.5, 1.5], [2.5, 3.5]]);
    assert.deepEqual(bin.samples.map((x) => x.ts), [T, T + 10]);
    assert.equal(t.calls('messageReceived').length, 5);
    assert.equal(t.calls('messageRejected').length, 0);
    assert.deepEqual(t.calls('mqttConnection').map((c) => c[0]), [true]);
  } finally {
    await s.stop();
  }
});

void test('bad payloads are counted by reason and acknowledged; the source stays alive', async () => {
  const t = testContext('source.mqtt');
  const got: StreamSamples[] = [];
  const clientId = `anomalyd-test-${process.pid}-poison`;
  const subs = [sub('bad'), sub('badbin', { decoder: 'f32le', sampleRateHz: 10 })];
  const s = source(t, subs, { clientId, maxPayloadBytes: 256 });
  await s.start((b) => void got.push(b));
  const bad: [string, string | Buffer, string][] = [
    ['bad/l/a', '{"a": 1', 'invalid_json'],
    ['bad/l/a', Buffer.from([0x7b, 0xff, 0x7d]), 'invalid_utf8'],
    ['bad/l/a', '{"c": 1}', 'missing_channel'],
    ['bad/l/a', '{"a": "x"}', 'invalid_number'],
    ['bad/l/a', '{"a": 1, "ts": -5}', 'bad_timestamp'],
    ['bad/l/a', `{"a": 1, "pad": "${'x'.repeat(300)}"}`, 'oversize'],
    ['bad//a', '{"a": 1}', 'unknown_stream'],
    ['badbin/l/a', Buffer.alloc(7), 'invalid_binary'],
    ['bad/l/a', '{"__proto__": {"polluted": true}, "constructor": 1}', 'missing_channel'],
  ];
  try {
    for (const [topic, payload] of bad) await pub.publishAsync(topic, payload, { qos: 1 });
    await pub.publishAsync('bad/l/a', '{"a": 9, "b": 10}', { qos: 1 });
    await waitFor(() => got.length === 1, 'the good message after the bad ones');
    assert.deepEqual(values(got[0]), [[9, 10]]);
    const rejected = t.calls('messageRejected');
    assert.deepEqual(rejected.map((r) => r[0]), bad.map((b) => b[2]));
    assert.deepEqual(rejected.map((r) => r[1]), bad.map((b) => b[0]));
    assert.ok(rejected.every((r) => typeof r[2] === 'string' && r[2].length > 0));
    assert.equal(t.calls('messageReceived').length, bad.length + 1);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(s.connected, true);
  } finally {
    await s.stop();
  }
  // Rejected messages were acknowledged: resuming the session does not bring them back.
  const t2 = testContext('source.mqtt');
  const again = source(t2, subs, { clientId, maxPayloadBytes: 256 });
  const later: StreamSamples[] = [];
  await again.start((b) => void later.push(b));
  try {
    // A message published now comes after anything the broker would redeliver to the resumed session (in order).
    await pub.publishAsync('bad/l/a', '{"a": 11, "b": 12}', { qos: 1 });
    await waitFor(() => later.length === 1, 'the message published after resuming', 10_000, () => t2.calls('messageReceived'));
  } finally {
    await again.stop();
  }
  assert.deepEqual(values(later[0]), [[11, 12]]);
  assert.deepEqual(t2.calls('messageReceived').map((c) => c[0]), ['bad/l/a'], 'no redelivery of acknowledged poison messages');
});

void test('backpressure: one message at a time, the next only after deliver resolves, nothing lost', async () => {
  const t = testContext('source.mqtt');
  const got: number[] = [];
  let active = 0;
  let maxActive = 0;
  const s = source(t, [sub('bp')]);
  await s.start(async (b) => {
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, 15));
    got.push(b.samples[0].values[0]);
    active--;
  });
  try {
    const n = 60;
    await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync('bp/l/a', JSON.stringify({ a: i }), { qos: 1 })));
    await waitFor(() => got.length === n, `${n} deliveries`, 20_000, () => got.length);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i), 'all delivered, in order, once');
    assert.equal(maxActive, 1, 'deliver is never called concurrently');
  } finally {
    await s.stop();
  }
});

void test('acks wait for deliver: a message whose deliver never finished is redelivered to the same session', async () => {
  const clientId = `anomalyd-test-${process.pid}-ack`;
  const t = testContext('source.mqtt');
  const calls: number[] = [];
  const s = source(t, [sub('ack')], { clientId, drainTimeoutMs: 300 });
  await s.start((b) => {
    calls.push(b.samples[0].values[0]);
    return new Promise<void>(() => undefined); // the pipeline is stuck
  });
  // A witness subscribed to the same topic: once it has all 5, the broker has sent them to every subscriber,
  // the source's session included (it allows 20 in flight), so the source had the chance to take them.
  const witness = await connectAsync(broker.url, { clientId: `anomalyd-test-${process.pid}-ack-witness` });
  const seen: string[] = [];
  witness.on('message', (_topic, payload) => seen.push(payload.toString()));
  await witness.subscribeAsync('ack/l/a', { qos: 1 });
  try {
    for (let i = 0; i < 5; i++) await pub.publishAsync('ack/l/a', JSON.stringify({ a: i }), { qos: 1 });
    await waitFor(() => seen.length === 5, 'the witness to get all 5 messages', 10_000, () => seen);
  } finally {
    await witness.endAsync();
  }
  assert.deepEqual(calls, [0], 'the next message is not taken while deliver is pending');
  await s.stop();

  const t2 = testContext('source.mqtt');
  const got: number[] = [];
  const resumed = source(t2, [sub('ack')], { clientId });
  await resumed.start((b) => void got.push(b.samples[0].values[0]));
  try {
    await waitFor(() => got.length === 5, 'all 5 messages after resuming the session', 10_000, () => got);
    assert.deepEqual(got, [0, 1, 2, 3, 4], 'the unacknowledged message comes back first, nothing lost');
  } finally {
    await resumed.stop();
  }
});

void test('acks leave in batches yet every accepted message is acknowledged: nothing comes back to the resumed session', async () => {
  const clientId = `anomalyd-test-${process.pid}-batched`;
  const t = testContext('source.mqtt');
  const got: number[] = [];
  const s = source(t, [sub('batch')], { clientId });
  // Mostly synchronous deliveries (the fast path), every 37th pushes back for a moment (the async path).
  await s.start((b) => {
    const v = b.samples[0].values[0];
    got.push(v);
    return v % 37 === 0 ? new Promise<void>((r) => setTimeout(r, 5)) : undefined;
  });
  const n = 1000;
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync('batch/l/a', JSON.stringify({ a: i }), { qos: 1 })));
    await waitFor(() => got.length === n, `${n} deliveries`, 20_000, () => got.length);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i), 'in order, once');
  } finally {
    await s.stop();
  }
  const t2 = testContext('source.mqtt');
  const again: number[] = [];
  const resumed = source(t2, [sub('batch')], { clientId });
  await resumed.start((b) => void again.push(b.samples[0].values[0]));
  try {
    assert.match(String(t2.calls('mqttConnection')[0]?.[1]), /session resumed/);
    await pub.publishAsync('batch/l/a', JSON.stringify({ a: n }), { qos: 1 });
    // Redelivered messages would come before it (in order on the session): once it is here, none is missing.
    await waitFor(() => again.includes(n), 'the message published after resuming', 10_000, () => again);
    assert.deepEqual(again, [n], 'no acknowledged message was redelivered');
  } finally {
    await resumed.stop();
  }
});

void test('persistent session: QoS 1 messages published while the daemon was offline arrive after it reconnects', async () => {
  const clientId = `anomalyd-test-${process.pid}-session`;
  const t = testContext('source.mqtt');
  const s = source(t, [sub('sess')], { clientId });
  await s.start(() => undefined);
  await s.stop();
  assert.equal(s.connected, false);
  const n = 200;
  for (let i = 0; i < n; i++) await pub.publishAsync(`sess/l/a${i % 4}`, JSON.stringify({ a: i, b: -i }), { qos: 1 });

  const t2 = testContext('source.mqtt');
  const got: StreamSamples[] = [];
  const resumed = source(t2, [sub('sess')], { clientId });
  await resumed.start((b) => void got.push(b));
  try {
    await waitFor(() => got.length === n, `${n} queued messages`, 15_000, () => got.length);
    assert.deepEqual(got.map((g) => g.samples[0].values[0]), Array.from({ length: n }, (_, i) => i));
    assert.deepEqual(got.slice(0, 4).map((g) => g.stream), ['l/a0', 'l/a1', 'l/a2', 'l/a3']);
    assert.match(String(t2.calls('mqttConnection')[0]?.[1]), /session resumed/);
  } finally {
    await resumed.stop();
  }
});

void test('clean session: nothing is kept while offline (the contrast to the persistent session)', async () => {
  const clientId = `anomalyd-test-${process.pid}-clean`;
  const s = source(testContext(), [sub('clean')], { clientId, cleanSession: true });
  await s.start(() => undefined);
  await s.stop();
  await pub.publishAsync('clean/l/a', '{"a":1}', { qos: 1 });
  const t2 = testContext();
  const again = source(t2, [sub('clean')], { clientId, cleanSession: true });
  const got: StreamSamples[] = [];
  await again.start((b) => void got.push(b));
  try {
    // A message published after the reconnect arrives: the subscription works, and one kept from offline would
    // have come first.
    await pub.publishAsync('clean/l/a', '{"a":2,"b":3}', { qos: 1 });
    await waitFor(() => got.length > 0, 'the message published after the reconnect', 10_000, () => got.length);
  } finally {
    await again.stop();
  }
  assert.equal(t2.calls('messageReceived').length, 1, 'only the message published after the reconnect');
  assert.deepEqual(values(got[0]), [[2, 3]]);
});

void test('large and odd messages arrive intact and in order: multi-megabyte chunks, UTF-8 topics, a retained message, QoS 0 and 1 mixed', async () => {
  // Received through publishTap.ts (MQTT 3.1.1): packets spanning many socket reads, 1- to 4-byte remaining
  // lengths, and the retained message the broker sends with the session's first packets.
  const t = testContext('source.mqtt');
  const got: StreamSamples[] = [];
  const T = Math.floor(Date.now() / 1000) * 1000 - 3_600_000; // an hour back: recent enough for timestamp.max_age_ms
  const sizes = [1, 31, 4_095, 16_400, 150_000, 700_000];
  const retained = encodeF32le([42], T - 1000);
  await pub.publishAsync('big/línea-1/bomba', retained, { qos: 1, retain: true });
  const s = source(t, [sub('big', { decoder: 'f32le', channels: ['x'], sampleRateHz: 1000 })], { maxPayloadBytes: 4 * 1024 * 1024 });
  await s.start((b) => void got.push(b));
  try {
    let start = T;
    for (const [i, n] of sizes.entries()) {
      await pub.publishAsync('big/línea-1/bomba', encodeF32le(Float32Array.from({ length: n }, (_, k) => (k % 1000) + i / 8), start), { qos: i % 2 === 0 ? 1 : 0 });
      start += n + 1;
    }
    await waitFor(() => got.length === sizes.length + 1, 'every message', 20_000, () => got.length);
    assert.deepEqual(got.map((b) => b.stream), Array(sizes.length + 1).fill('línea-1/bomba'));
    assert.deepEqual(values(got[0]), [[42]], 'the retained message first');
    for (const [i, n] of sizes.entries()) {
      const b = got[i + 1];
      assert.equal(b.samples.length, n, `message ${i}: every sample`);
      const wrong = b.samples.findIndex((x, k) => x.values[0] !== Math.fround((k % 1000) + i / 8));
      assert.equal(wrong, -1, `message ${i}: values intact`);
    }
    assert.deepEqual(t.events.filter((e) => e.name === 'messageRejected'), []);
  } finally {
    await s.stop();
    await pub.publishAsync('big/línea-1/bomba', '', { qos: 1, retain: true });
  }
});

void test('invalid subscriptions are refused at construction, listing the problem', () => {
  assert.throws(() => source(testContext(), [sub('x', { stream: '{nope}' })]), /subscription 0 \('x\/\+\/\+'\): .*'\{nope\}' is not a template name/);
  assert.throws(() => source(testContext(), [sub('x', { decoder: 'f32le' })]), /needs sample_rate_hz/);
});

void test('the password never appears in events or logs, the URL credentials are redacted', async () => {
  const t = testContext('source.mqtt');
  const canary = 'canary-Secret-7f3a';
  const url = broker.url.replace('mqtt://', `mqtt://user:${canary}@`);
  const s = source(t, [sub('pw')], { url, username: 'user', password: canary });
  await s.start(() => undefined);
  await s.stop();
  const everything = JSON.stringify({ events: t.events, logs: t.logs });
  assert.ok(!everything.includes(canary), everything);
  assert.match(everything, /\*\*\*/);
});

void test('a deliver that refuses every message (a setting the pipeline cannot use) logs one line per minute, with a count', async () => {
  const clock = new ManualClock(1_000_000);
  const t = testContext('source.mqtt', clock);
  let refused = 0;
  const s = source(t, [sub('refuse')], { drainTimeoutMs: 300 });
  await s.start(() => {
    refused++;
    return Promise.reject(new RangeError("window options for stream 'l/a': maxGapMs must be > 0 (got 0)"));
  });
  const lines = (): { msg: string; fields?: Record<string, unknown> }[] => t.logs.filter((l) => l.level === 'warn' && l.msg.startsWith('Pipeline did not accept'));
  try {
    // Fewer than the broker's in-flight window (20 in Mosquitto): refused messages stay unacknowledged and fill it.
    for (let i = 0; i < 10; i++) await pub.publishAsync('refuse/l/a', JSON.stringify({ a: i }), { qos: 1 });
    await waitFor(() => refused === 10, '10 refused deliveries', 10_000, () => refused);
    assert.equal(lines().length, 1, 'one line for 10 refusals within the interval');
    assert.equal(lines()[0]?.fields?.occurrences, 1);
    assert.match(String(lines()[0]?.fields?.error), /maxGapMs must be > 0/);
    clock.advance(REFUSED_WARN_INTERVAL_MS);
    await pub.publishAsync('refuse/l/a', JSON.stringify({ a: 10 }), { qos: 1 });
    await waitFor(() => refused === 11, 'the 11th refused delivery', 10_000, () => refused);
    assert.equal(lines().length, 2, 'the next line once the interval passed');
    assert.equal(lines()[1]?.fields?.occurrences, 10, 'it stands for the 9 held back and itself');
  } finally {
    await s.stop();
  }
});
