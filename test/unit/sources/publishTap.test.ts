// publishTap: PUBLISH packets (MQTT 3.1.1, QoS 0/1) read from the connection's bytes reach the message handler
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
import { PublishTap, tapPublishes } from '../../../src/sources/publishTap';

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

function harness(): Harness {
  const client = new FakeClient();
  const written: Buffer[] = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  const tap = new PublishTap(inner, client as unknown as MqttClient, (id) => client.pubacks.push(id));
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

const bytes = (p: Packet): Buffer => generate(p, { protocolVersion: 4 });
const publish = (topic: string, payload: Buffer, qos: 0 | 1, messageId?: number, extra: Partial<IPublishPacket> = {}): Buffer =>
  bytes({ cmd: 'publish', topic, payload, qos, dup: false, retain: false, ...(qos > 0 ? { messageId } : {}), ...extra });
const CONNACK = bytes({ cmd: 'connack', returnCode: 0, sessionPresent: true });
const PINGRESP = bytes({ cmd: 'pingresp' });
const SUBACK = bytes({ cmd: 'suback', messageId: 1, granted: [1] });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A session's worth of traffic: sizes on both sides of every remaining-length boundary, a multi-byte topic. */
function traffic(): { stream: Buffer; publishes: { topic: string; payload: Buffer; qos: 0 | 1; messageId?: number }[] } {
  const sizes = [0, 1, 120, 121, 122, 16_370, 16_380, 16_400, 70_000, 2_100_000];
  const publishes = sizes.map((n, i) => ({
    topic: i % 3 === 0 ? `plant/línea-${i}/pumpé/telemetry` : `plant/line${i}/pump/telemetry`,
    payload: Buffer.from(Array.from({ length: n }, (_, k) => (k * 31 + i) & 0xff)),
    qos: (i % 2) as 0 | 1,
    ...(i % 2 ? { messageId: 1000 + i } : {}),
  }));
  const parts: Buffer[] = [];
  publishes.forEach((p, i) => {
    parts.push(publish(p.topic, p.payload, p.qos, p.messageId));
    if (i === 3) parts.push(PINGRESP);
    if (i === 6) parts.push(SUBACK);
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

void test('only an mqtt.js client with a stream builder and _sendPacket, speaking MQTT 3.1.1, is tapped', () => {
  const plain = { options: { protocolVersion: 4 } };
  assert.equal(tapPublishes(plain as unknown as MqttClient), false);
  const v5 = { options: { protocolVersion: 5 }, streamBuilder: () => new Duplex(), _sendPacket: () => undefined };
  assert.equal(tapPublishes(v5 as unknown as MqttClient), false);
  const v4 = { options: { protocolVersion: 4 }, streamBuilder: () => new Duplex({ read() {} }), _sendPacket: () => undefined };
  assert.equal(tapPublishes(v4 as unknown as MqttClient), true);
  assert.ok(v4.streamBuilder.call(v4) instanceof PublishTap);
});
