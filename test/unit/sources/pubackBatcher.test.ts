// pubackBatcher: the PUBACKs given in one turn of the event loop leave in one write, byte for byte what mqtt.js
// would have sent; other packets flush the acks before them; acks of a connection that went away go back to
// mqtt.js. The acknowledgement itself (when, whether) is tested with a real broker in mqttSource.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { batchPubacks, encodePubacks } from '../../../src/sources/pubackBatcher';

interface Sent {
  readonly cmd: string;
  readonly messageId?: number;
}

/** The parts of an mqtt.js client the batcher touches; `_sendPacket` records what reaches mqtt.js itself. */
class FakeClient {
  connected = true;
  readonly viaMqttJs: Sent[] = [];
  readonly writes: { stream: number; bytes: Buffer }[] = [];
  stream = this.makeStream(1);

  _sendPacket(packet: Sent, cb?: () => void): void {
    this.viaMqttJs.push({ cmd: packet.cmd, ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}) });
    cb?.();
  }

  makeStream(n: number): { write(chunk: Buffer): boolean } {
    return { write: (bytes: Buffer) => this.writes.push({ stream: n, bytes: Buffer.from(bytes) }) > 0 };
  }

  ack(messageId: number): boolean {
    let called = false;
    this._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 } as Sent, () => (called = true));
    return called;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function wrapped(beforeFlush?: () => boolean): FakeClient {
  const c = new FakeClient();
  assert.equal(batchPubacks(c as unknown as MqttClient, beforeFlush), true);
  return c;
}

/** Polls (every 10 ms) until `cond` holds; fails after 5 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

void test('encodePubacks writes exactly what mqtt-packet generates for a PUBACK (MQTT 3.1.1 and 5)', () => {
  const ids = [1, 255, 256, 4660, 65535];
  const v4 = Buffer.concat(ids.map((messageId) => generate({ cmd: 'puback', messageId }, { protocolVersion: 4 })));
  const v5 = Buffer.concat(ids.map((messageId) => generate({ cmd: 'puback', messageId, reasonCode: 0 }, { protocolVersion: 5 })));
  assert.deepEqual(encodePubacks(ids), v4);
  assert.deepEqual(encodePubacks(ids), v5);
});

void test('acks given in one turn leave in one write at its end, in order; the callback runs at once', async () => {
  const c = wrapped();
  for (const id of [7, 8, 9]) assert.equal(c.ack(id), true, 'mqtt.js may take the next message right away');
  assert.equal(c.writes.length, 0, 'nothing written before the end of the turn');
  await turn();
  assert.equal(c.writes.length, 1);
  assert.deepEqual(c.writes[0].bytes, encodePubacks([7, 8, 9]));
  assert.deepEqual(c.viaMqttJs, []);
  c.ack(10);
  await turn();
  assert.equal(c.writes.length, 2);
  assert.deepEqual(c.writes[1].bytes, encodePubacks([10]));
});

void test('any other packet flushes the acks given before it, so the broker sees mqtt.js order', async () => {
  const c = wrapped();
  c.ack(1);
  c.ack(2);
  c._sendPacket({ cmd: 'pingreq' });
  assert.deepEqual(c.writes.map((w) => w.bytes), [encodePubacks([1, 2])]);
  assert.deepEqual(c.viaMqttJs, [{ cmd: 'pingreq' }]);
  await turn();
  assert.equal(c.writes.length, 1, 'nothing left to write');
});

void test('acks with a reason code or properties (MQTT 5) are left to mqtt.js', () => {
  const c = wrapped();
  c._sendPacket({ cmd: 'puback', messageId: 3, reasonCode: 16 } as Sent);
  c._sendPacket({ cmd: 'puback', messageId: 4, reasonCode: 0, properties: { reasonString: 'x' } } as Sent);
  assert.deepEqual(c.viaMqttJs, [{ cmd: 'puback', messageId: 3 }, { cmd: 'puback', messageId: 4 }]);
});

void test('acks of a connection that closed before the flush go back to mqtt.js; a new connection gets its own batch', async () => {
  const c = wrapped();
  c.ack(1);
  c.ack(2);
  c.connected = false;
  await turn();
  assert.equal(c.writes.length, 0, 'not written to the closed connection');
  assert.deepEqual(c.viaMqttJs, [{ cmd: 'puback', messageId: 1 }, { cmd: 'puback', messageId: 2 }]);

  c.connected = true;
  c.ack(3);
  c.stream = c.makeStream(2); // reconnected within the same turn
  c.ack(4);
  await turn();
  // 3 belonged to the old stream: mqtt.js decides; 4 goes out on the new one.
  assert.deepEqual(c.viaMqttJs.slice(2), [{ cmd: 'puback', messageId: 3 }]);
  assert.deepEqual(c.writes, [{ stream: 2, bytes: encodePubacks([4]) }]);
});

void test('while disconnected, acks go straight to mqtt.js (it keeps them for the next connection)', () => {
  const c = wrapped();
  c.connected = false;
  assert.equal(c.ack(5), true);
  assert.deepEqual(c.viaMqttJs, [{ cmd: 'puback', messageId: 5 }]);
});

void test('an mqtt.js without _sendPacket is left alone', () => {
  assert.equal(batchPubacks({} as MqttClient), false);
});

void test('beforeFlush runs before every batch; while it says no, acks are held, then leave in order', async () => {
  let safe = false;
  let asked = 0;
  const c = wrapped(() => {
    asked++;
    return safe;
  });
  c.ack(1);
  c.ack(2);
  await turn();
  assert.equal(asked, 1, 'asked once for the batch');
  assert.equal(c.writes.length, 0, 'no ack while the samples are not safe');
  c.ack(3);
  await turn();
  assert.equal(c.writes.length, 0);
  safe = true;
  await until('the held acks written', () => c.writes.length > 0);
  assert.deepEqual(c.writes.map((w) => w.bytes), [encodePubacks([1, 2, 3])]);
  assert.deepEqual(c.viaMqttJs, []);
});

void test('held acks of a connection that closed are dropped, never written to the next one', async () => {
  let safe = false;
  const c = wrapped(() => safe);
  c.ack(1);
  await turn();
  c.stream = c.makeStream(2); // reconnected while 1 was held
  c.ack(2);
  await turn();
  safe = true;
  await until('the held ack written', () => c.writes.length > 0);
  assert.deepEqual(c.writes, [{ stream: 2, bytes: encodePubacks([2]) }]);
  assert.deepEqual(c.viaMqttJs, []);
  safe = false;
  c.connected = false;
  assert.equal(c.ack(3), true, 'mqtt.js goes on');
  assert.deepEqual(c.viaMqttJs, [], 'an unsafe ack is not queued for the next connection');
});
