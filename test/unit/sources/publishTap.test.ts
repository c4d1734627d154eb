// publishTap: PUBLISH packets (MQTT 3.1.1 and 5, QoS 0/1) read from the connection's bytes reach the message handler
// exactly as mqtt.js's parser would give them, in order, whatever the chunking; everything else reaches mqtt.js
// byte for byte. The bytes are mqtt-packet's own encoding; the client here is a stand-in for the few parts of
// mqtt.js the tap touches (the real client, against a real Mosquitto, is in mqttSource.test.ts and
// mqttPublishTap.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { generate, type Packet } from 'mqtt-packet';
import { partialPacketTimeoutMs } from '../../../src/sources/mqtt';
import { PublishTap, tapPublishes, type PublishTapOptions } from '../../../src/sources/publishTap';

type Done = (err?: Error) => void;

class FakeClient extends EventEmitter {
  connected = false;
  readonly handled: IPublishPacket[] = [];
  readonly pubacks: number[] = [];
  /** Set to defer the handler's callback (the pipeline pushing back). */
  defer: ((done: Done) => void) | null = null;
  refuse = new Set<number>();

  handleMessage(packet: IPublishPacket, done: Done): void {
    this.handled.push({ ...packet, payload: Buffer.from(packet.payload as Buffer) });
    const id = packet.messageId ?? -1;
    const finish = (): void => done(this.refuse.has(id) ? new Error('refused') : undefined);
    if (this.defer) this.defer(finish);
    else finish();
  }
}

interface Harness {
  readonly client: FakeClient;
  readonly inner: Duplex;
  readonly tap: PublishTap;
  readonly forwarded: Buffer[];
  readonly written: Buffer[];
}

function harness(options: PublishTapOptions = {}): Harness {
  const client = new FakeClient();
  const written: Buffer[] = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  const tap = new PublishTap(inner, client as unknown as MqttClient, (id) => client.pubacks.push(id), options);
  const forwarded: Buffer[] = [];
  tap.on('data', (b: Buffer) => forwarded.push(Buffer.from(b)));
  // mqtt.js processing the CONNACK it was given: connected, then 'connect'.
  tap.on('data', (b: Buffer) => {
    if (b[0] >> 4 === 2) {
      client.connected = true;
      client.emit('connect');
    }
  });
  return { client, inner, tap, forwarded, written };
}

const bytes = (p: Packet, protocolVersion: 4 | 5 = 4): Buffer => generate(p, { protocolVersion });
const publish = (topic: string, payload: Buffer, qos: 0 | 1, messageId?: number, extra: Partial<IPublishPacket> = {}, protocolVersion: 4 | 5 = 4): Buffer =>
  bytes({ cmd: 'publish', topic, payload, qos, dup: false, retain: false, ...(qos > 0 ? { messageId } : {}), ...extra }, protocolVersion);
/** An MQTT 5 PUBLISH with properties before its payload (a few, and about `userBytes` more of user properties). */
function publish5(topic: string, payload: Buffer, qos: 0 | 1, messageId?: number, userBytes = 0): Buffer {
  // A property string is at most 65535 bytes: a large amount is several of them.
  const pad = Array.from({ length: Math.ceil(userBytes / 60_000) }, (_, i) => 'p'.repeat(Math.min(60_000, userBytes - i * 60_000)));
  const userProperties = { site: 'plant-7', ...(pad.length > 0 ? { pad } : {}) };
  return publish(topic, payload, qos, messageId, { properties: { contentType: 'application/json', payloadFormatIndicator: true, userProperties } }, 5);
}
const CONNACK = bytes({ cmd: 'connack', returnCode: 0, sessionPresent: true });
const PINGRESP = bytes({ cmd: 'pingresp' });
const SUBACK = bytes({ cmd: 'suback', messageId: 1, granted: [1] });
/** The same packets as MQTT 5 encodes them (a CONNACK with a reason code, a SUBACK with properties length). */
const CONNACK5 = bytes({ cmd: 'connack', reasonCode: 0, sessionPresent: true }, 5);
const SUBACK5 = bytes({ cmd: 'suback', messageId: 1, granted: [1] }, 5);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A session's worth of traffic: sizes on both sides of every remaining-length boundary, a multi-byte topic. */
function traffic(protocolVersion: 4 | 5 = 4): { stream: Buffer; publishes: { topic: string; payload: Buffer; qos: 0 | 1; messageId?: number }[] } {
  const sizes = [0, 1, 120, 121, 122, 16_370, 16_380, 16_400, 70_000, 2_100_000];
  const publishes = sizes.map((n, i) => ({
    topic: i % 3 === 0 ? `plant/línea-${i}/pumpé/telemetry` : `plant/line${i}/pump/telemetry`,
    payload: Buffer.from(Array.from({ length: n }, (_, k) => (k * 31 + i) & 0xff)),
    qos: (i % 2) as 0 | 1,
    ...(i % 2 ? { messageId: 1000 + i } : {}),
  }));
  const parts: Buffer[] = [];
  publishes.forEach((p, i) => {
    parts.push(protocolVersion === 5 ? publish5(p.topic, p.payload, p.qos, p.messageId, i === 4 ? 20_000 : 0) : publish(p.topic, p.payload, p.qos, p.messageId));
    if (i === 3) parts.push(PINGRESP);
    if (i === 6) parts.push(protocolVersion === 5 ? SUBACK5 : SUBACK);
  });
  return { stream: Buffer.concat(parts), publishes };
}

async function feed(h: Harness, stream: Buffer, chunkSizes: () => number): Promise<void> {
  for (let at = 0; at < stream.length; ) {
    const n = Math.max(1, chunkSizes());
    h.inner.push(stream.subarray(at, at + n));
    at += n;
    if (at % 7 === 0) await turn();
  }
  await turn();
  await turn();
}

void test('PUBLISHes after the CONNACK reach the handler in order, identical whatever the chunking; other packets reach mqtt.js byte for byte', async () => {
  const { stream, publishes } = traffic();
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  for (const [name, chunks] of [
    ['one chunk', () => Number.MAX_SAFE_INTEGER],
    ['64 KiB chunks', () => 65_536],
    ['random chunks', () => 1 + (random() % 9000)],
    ['small random chunks', () => 1 + (random() % 40)],
  ] as const) {
    const h = harness();
    h.inner.push(CONNACK);
    await turn();
    await turn();
    await feed(h, stream, chunks);
    assert.deepEqual(
      h.client.handled.map((p) => ({ topic: p.topic, payload: p.payload, qos: p.qos, ...(p.messageId !== undefined ? { messageId: p.messageId } : {}) })),
      publishes,
      name,
    );
    assert.deepEqual(h.client.pubacks, publishes.filter((p) => p.qos === 1).map((p) => p.messageId), `${name}: one PUBACK per QoS 1 message, in order`);
    assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK, PINGRESP, SUBACK]), `${name}: mqtt.js gets the rest`);
  }
});

void test('MQTT 5: PUBLISHes with properties reach the handler in order, their properties skipped, whatever the chunking; other packets reach mqtt.js byte for byte', async () => {
  const { stream, publishes } = traffic(5);
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  for (const [name, chunks] of [
    ['one chunk', () => Number.MAX_SAFE_INTEGER],
    ['64 KiB chunks', () => 65_536],
    ['random chunks', () => 1 + (random() % 9000)],
    ['small random chunks', () => 1 + (random() % 40)],
  ] as const) {
    const h = harness({ protocolVersion: 5 });
    h.inner.push(CONNACK5);
    await turn();
    await turn();
    await feed(h, stream, chunks);
    assert.deepEqual(
      h.client.handled.map((p) => ({ topic: p.topic, payload: p.payload, qos: p.qos, ...(p.messageId !== undefined ? { messageId: p.messageId } : {}) })),
      publishes,
      name,
    );
    assert.deepEqual(h.client.pubacks, publishes.filter((p) => p.qos === 1).map((p) => p.messageId), `${name}: one PUBACK per QoS 1 message, in order`);
    assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK5, PINGRESP, SUBACK5]), `${name}: mqtt.js gets the rest`);
  }
});

void test('MQTT 5: a PUBLISH with a topic alias (empty topic) goes to mqtt.js, whose session state the alias lives in', async () => {
  const h = harness({ protocolVersion: 5 });
  h.inner.push(CONNACK5);
  await turn();
  await turn();
  const aliased = publish('', Buffer.from('7'), 1, 3, { properties: { topicAlias: 4 } }, 5);
  const named = publish5('a/b', Buffer.from('8'), 1, 4);
  h.inner.push(Buffer.concat([aliased, named]));
  await turn();
  assert.deepEqual(h.client.handled.map((p) => [p.topic, p.payload.toString(), p.messageId]), [['a/b', '8', 4]]);
  assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK5, aliased]));
  assert.deepEqual(h.client.pubacks, [4]);
});

void test('PUBLISHes that arrive with the CONNACK wait until mqtt.js is connected; before a CONNACK everything goes to mqtt.js', async () => {
  const h = harness();
  const early = publish('a/b', Buffer.from('before'), 1, 5);
  const after = publish('a/b', Buffer.from('after'), 1, 6);
  // The broker may send a PUBLISH before CONNACK only in error; mqtt.js is the one to deal with it.
  h.inner.push(Buffer.concat([early, CONNACK, after]));
  await turn();
  await turn();
  assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([early, CONNACK]));
  assert.deepEqual(h.client.handled.map((p) => p.payload.toString()), ['after']);
  assert.deepEqual(h.client.pubacks, [6]);
});

void test('the next message waits for the handler: the socket pauses, order is kept, a refused message gets no PUBACK', async () => {
  const h = harness();
  h.inner.push(CONNACK);
  await turn();
  const pending: (() => void)[] = [];
  h.client.defer = (done) => pending.push(done);
  h.client.refuse.add(2);
  h.inner.push(Buffer.concat([1, 2, 3].map((id) => publish('t', Buffer.from(`m${id}`), 1, id))));
  await turn();
  assert.deepEqual(h.client.handled.map((p) => p.messageId), [1], 'one message at a time');
  assert.equal(h.inner.isPaused(), true, 'the socket waits');
  pending.shift()?.();
  await turn();
  assert.deepEqual(h.client.handled.map((p) => p.messageId), [1, 2]);
  h.client.defer = null;
  pending.shift()?.();
  await turn();
  assert.deepEqual(h.client.handled.map((p) => p.messageId), [1, 2, 3]);
  assert.deepEqual(h.client.pubacks, [1, 3], 'the refused message stays unacknowledged');
  assert.equal(h.inner.isPaused(), false);
});

void test('QoS 2, a malformed PUBLISH and an unparseable length go to mqtt.js untouched; writes go to the socket', async () => {
  const h = harness();
  h.inner.push(CONNACK);
  await turn();
  const qos2 = bytes({ cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, messageId: 9, dup: false, retain: false });
  const truncatedTopic = Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61]); // topic length 9 in a 3-byte packet
  const badLength = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]);
  const later = publish('t', Buffer.from('after the garbage'), 0);
  h.inner.push(Buffer.concat([qos2, truncatedTopic, badLength, later]));
  await turn();
  assert.equal(h.client.handled.length, 0);
  assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK, qos2, truncatedTopic, badLength, later]), 'after garbage, the rest passes through');
  h.tap.write(Buffer.from([0xc0, 0x00]));
  await turn();
  assert.deepEqual(h.written, [Buffer.from([0xc0, 0x00])]);
});

void test('a corked group of writes (mqtt-packet corks each packet) reaches the socket as one write', async () => {
  const groups: Buffer[][] = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      groups.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      groups.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  const tap = new PublishTap(inner, new FakeClient() as unknown as MqttClient, () => undefined);
  tap.write(Buffer.from([1]));
  tap.write(Buffer.from([2]));
  await turn();
  tap.cork();
  tap.write(Buffer.from([3]));
  tap.write(Buffer.from([4]));
  process.nextTick(() => tap.uncork());
  await turn();
  assert.deepEqual(groups.map((g) => g.map((b) => b[0])), [[1], [2], [3, 4]]);
});

void test('the inner stream closing or failing ends the tap as mqtt.js expects of a socket', async () => {
  const h = harness();
  const closed = new Promise<Error | undefined>((resolve) => {
    let error: Error | undefined;
    h.tap.on('error', (e: Error) => (error = e));
    h.tap.on('close', () => resolve(error));
  });
  h.inner.destroy(new Error('ECONNRESET'));
  assert.equal((await closed)?.message, 'ECONNRESET');
});

void test('only an mqtt.js client with a stream builder and _sendPacket is tapped, speaking MQTT 3.1.1 or 5', () => {
  const plain = { options: { protocolVersion: 4 } };
  assert.equal(tapPublishes(plain as unknown as MqttClient), false);
  const v5 = { options: { protocolVersion: 5 }, streamBuilder: () => new Duplex({ read() {} }), _sendPacket: () => undefined };
  assert.equal(tapPublishes(v5 as unknown as MqttClient), true);
  assert.ok(v5.streamBuilder.call(v5) instanceof PublishTap);
  const v4 = { options: { protocolVersion: 4 }, streamBuilder: () => new Duplex({ read() {} }), _sendPacket: () => undefined };
  assert.equal(tapPublishes(v4 as unknown as MqttClient), true);
  assert.ok(v4.streamBuilder.call(v4) instanceof PublishTap);
});

/** A tap limited to `max` payload bytes, recording what it skipped. */
function limitedHarness(max: number, partialTimeoutMs = 0, protocolVersion: 4 | 5 = 4): Harness & { skipped: [string, number][]; parts: string[] } {
  const skipped: [string, number][] = [];
  const parts: string[] = [];
  const oversize = (topic: string, n: number, part: string): void => void (skipped.push([topic, n]), parts.push(part));
  return { ...harness({ maxPayloadBytes: max, oversize, partialTimeoutMs, protocolVersion }), skipped, parts };
}

void test('an oversize PUBLISH is skipped as its header is read, never held, acknowledged at QoS 1 and reported; the next messages arrive', async () => {
  const max = 1_000;
  const big = Buffer.alloc(300_000, 0x5a);
  const longTopic = `plant/${'t'.repeat(500)}`;
  const stream = Buffer.concat([
    publish('a/ok', Buffer.from('first'), 1, 1),
    publish('a/big', big, 1, 2),
    publish('a/edge', Buffer.alloc(max, 1), 1, 3),
    publish('a/over', Buffer.alloc(max + 1, 2), 0),
    publish(longTopic, Buffer.alloc(max + 1, 3), 1, 4),
    PINGRESP,
    publish('a/big0', big, 0),
    publish('a/last', Buffer.from('last'), 1, 5),
  ]);
  let seed = 11;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  for (const [name, chunks] of [
    ['one chunk', () => Number.MAX_SAFE_INTEGER],
    ['64 KiB chunks', () => 65_536],
    ['random chunks', () => 1 + (random() % 9000)],
    ['small random chunks', () => 1 + (random() % 40)],
    ['one byte at a time', () => 1],
  ] as const) {
    const h = limitedHarness(max);
    h.inner.push(CONNACK);
    await turn();
    await turn();
    // The bound: one packet within the limit (payload, topic, packet id, fixed header) plus the chunk being read.
    const bound = (chunk: number): number => max + 2 + longTopic.length + 2 + 5 + chunk;
    let most = 0;
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(Math.max(1, chunks()), stream.length - at);
      h.inner.push(stream.subarray(at, at + n));
      at += n;
      await turn();
      most = Math.max(most, h.tap.heldBytes);
      assert.ok(h.tap.heldBytes <= bound(n), `${name}: holds ${h.tap.heldBytes} bytes after a chunk of ${n}`);
    }
    assert.ok(most < big.length, name);
    assert.deepEqual(h.client.handled.map((p) => [p.topic, p.payload.length]), [['a/ok', 5], ['a/edge', max], ['a/last', 4]], `${name}: the messages within the limit`);
    assert.deepEqual(h.skipped, [['a/big', big.length], ['a/over', max + 1], [longTopic, max + 1], ['a/big0', big.length]], `${name}: the skipped ones`);
    assert.deepEqual(h.client.pubacks, [1, 2, 3, 4, 5], `${name}: every QoS 1 message acknowledged, in order`);
    assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK, PINGRESP]), `${name}: mqtt.js gets the rest`);
    assert.equal(h.tap.heldBytes, 0, name);
  }
});

void test('a partial packet that stops arriving closes the connection after the partial timeout; a complete stream does not', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const h = limitedHarness(1_000, 5_000);
  const closed = new Promise<Error | undefined>((resolve) => {
    let error: Error | undefined;
    h.tap.on('error', (e: Error) => (error = e));
    h.tap.on('close', () => resolve(error));
  });
  h.inner.push(CONNACK);
  await turn();
  await turn();
  const whole = publish('a/b', Buffer.alloc(500, 1), 1, 7);
  h.inner.push(whole);
  await turn();
  t.mock.timers.tick(20_000);
  assert.equal(h.tap.destroyed, false, 'nothing incomplete: no timeout');
  // Half a packet, then a trickle that keeps it alive, then silence.
  const next = publish('a/b', Buffer.alloc(500, 2), 1, 8);
  h.inner.push(next.subarray(0, 100));
  await turn();
  for (let i = 0; i < 5; i++) {
    t.mock.timers.tick(4_000);
    h.inner.push(next.subarray(100 + i, 101 + i));
    await turn();
  }
  assert.equal(h.tap.destroyed, false, 'bytes keep arriving: kept');
  t.mock.timers.tick(5_000);
  t.mock.timers.tick(5_000);
  assert.match((await closed)?.message ?? '', /incomplete/);
  assert.deepEqual(h.client.pubacks, [7]);
});

void test('an oversize packet whose rest stops arriving is dropped on the partial timeout too', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const h = limitedHarness(1_000, 5_000);
  h.tap.on('error', () => undefined);
  h.inner.push(CONNACK);
  await turn();
  await turn();
  h.inner.push(publish('a/big', Buffer.alloc(50_000, 1), 1, 9).subarray(0, 20_000));
  await turn();
  assert.deepEqual(h.skipped, [['a/big', 50_000]]);
  assert.equal(h.tap.heldBytes, 0);
  t.mock.timers.tick(5_000);
  t.mock.timers.tick(5_000);
  assert.equal(h.tap.destroyed, true);
});

void test('the partial-packet timeout is a third of the keepalive (at least 1 s), 30 s without keepalive', () => {
  assert.equal(partialPacketTimeoutMs(30), 10_000);
  assert.equal(partialPacketTimeoutMs(1), 1_000);
  assert.equal(partialPacketTimeoutMs(0), 30_000);
});

void test('MQTT 5: an oversize payload, or properties over the limit, are skipped as the header is read, never held, acknowledged and reported', async () => {
  const max = 1_000;
  const big = Buffer.alloc(300_000, 0x5a);
  const longTopic = `plant/${'t'.repeat(500)}`;
  const stream = Buffer.concat([
    publish5('a/ok', Buffer.from('first'), 1, 1),
    publish5('a/big', big, 1, 2),
    publish5('a/edge', Buffer.alloc(max, 1), 1, 3),
    publish5('a/over', Buffer.alloc(max + 1, 2), 0),
    // Properties near the limit with a payload at it: within the limit, the whole packet held once.
    publish5(longTopic, Buffer.alloc(max, 3), 1, 4, max - 100),
    publish5('a/props', Buffer.from('1'), 1, 5, 200_000),
    PINGRESP,
    publish5('a/big0', big, 0),
    publish5('a/last', Buffer.from('last'), 1, 6),
  ]);
  let seed = 11;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  for (const [name, chunks] of [
    ['one chunk', () => Number.MAX_SAFE_INTEGER],
    ['64 KiB chunks', () => 65_536],
    ['random chunks', () => 1 + (random() % 9000)],
    ['small random chunks', () => 1 + (random() % 40)],
    ['one byte at a time', () => 1],
  ] as const) {
    const h = limitedHarness(max, 0, 5);
    h.inner.push(CONNACK5);
    await turn();
    await turn();
    // The bound: one packet within the limit (payload and properties each at most `max`, topic, packet id,
    // properties length, fixed header) plus the chunk being read.
    const bound = (chunk: number): number => max + max + 2 + longTopic.length + 2 + 4 + 5 + chunk;
    let most = 0;
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(Math.max(1, chunks()), stream.length - at);
      h.inner.push(stream.subarray(at, at + n));
      at += n;
      await turn();
      most = Math.max(most, h.tap.heldBytes);
      assert.ok(h.tap.heldBytes <= bound(n), `${name}: holds ${h.tap.heldBytes} bytes after a chunk of ${n}`);
    }
    assert.ok(most < big.length, name);
    assert.deepEqual(h.client.handled.map((p) => [p.topic, p.payload.length]), [['a/ok', 5], ['a/edge', max], [longTopic, max], ['a/last', 4]], `${name}: the messages within the limit`);
    assert.deepEqual(h.skipped.map(([topic]) => topic), ['a/big', 'a/over', 'a/props', 'a/big0'], `${name}: the skipped ones`);
    assert.deepEqual(h.parts, ['payload', 'payload', 'properties', 'payload'], name);
    assert.deepEqual(h.skipped[0][1], big.length, name);
    assert.ok(h.skipped[2][1] > 200_000 && h.skipped[2][1] < 200_100, `${name}: the properties' size, ${h.skipped[2][1]}`);
    assert.deepEqual(h.client.pubacks, [1, 2, 3, 4, 5, 6], `${name}: every QoS 1 message acknowledged, in order`);
    assert.deepEqual(Buffer.concat(h.forwarded), Buffer.concat([CONNACK5, PINGRESP]), `${name}: mqtt.js gets the rest`);
    assert.equal(h.tap.heldBytes, 0, name);
  }
});
