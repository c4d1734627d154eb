// A broker that sends half a PUBLISH and then nothing: the MQTT reader closes the connection after the
// partial-packet timeout (a third of the keepalive), naming why, reconnects, and takes the messages of the next
// connection. The broker is a minimal stand-in speaking just enough MQTT 3.1.1 (Mosquitto never stops
// mid-packet); the client is the daemon's MqttSource with the real mqtt.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { MqttSource } from '../../src/sources/mqtt';
import { testContext } from '../helpers/context';
import { waitFor } from '../helpers/mosquitto';

/** Fixed header + remaining length of an MQTT packet. */
function packet(first: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}

function publishQos1(topic: string, payload: string, id: number): Buffer {
  const t = Buffer.from(topic);
  const head = Buffer.alloc(2 + t.length + 2);
  head.writeUInt16BE(t.length, 0);
  t.copy(head, 2);
  head.writeUInt16BE(id, 2 + t.length);
  return packet(0x32, Buffer.concat([head, Buffer.from(payload)]));
}

/** Answers CONNECT, SUBSCRIBE and PINGREQ; after the SUBACK calls `subscribed` with the socket and connection number. */
function fakeBroker(subscribed: (socket: net.Socket, connection: number) => void): net.Server {
  let connections = 0;
  return net.createServer((socket) => {
    const connection = ++connections;
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        let length = 0;
        let factor = 1;
        let at = 1;
        let complete = false;
        while (at < buf.length && at < 5) {
          const byte = buf[at++];
          length += (byte & 0x7f) * factor;
          factor *= 128;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || at + length > buf.length) return;
        const type = buf[0] >> 4;
        const body = buf.subarray(at, at + length);
        buf = buf.subarray(at + length);
        if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        if (type === 12) socket.write(Buffer.from([0xd0, 0x00]));
        if (type === 8) {
          let filters = 0;
          for (let p = 2; p < body.length; p += 2 + body.readUInt16BE(p) + 1) filters++;
          socket.write(packet(0x90, Buffer.concat([body.subarray(0, 2), Buffer.alloc(filters, 1)])));
          subscribed(socket, connection);
        }
      }
    });
  });
}

void test('half a PUBLISH and then silence: the connection is closed after a third of the keepalive, and the next connection delivers', async () => {
  const t = testContext('source.mqtt');
  const broker = fakeBroker((socket, connection) => {
    if (connection === 1) socket.write(publishQos1('p/a', '1'.repeat(500), 1).subarray(0, 100));
    else socket.write(publishQos1('p/a', '42', 2));
  });
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  const port = (broker.address() as AddressInfo).port;
  const got: number[] = [];
  const s = new MqttSource(t.ctx, {
    url: `mqtt://127.0.0.1:${port}`,
    clientId: `anomalyd-partial-${process.pid}`,
    keepaliveS: 3,
    reconnect: { minDelayMs: 50, maxDelayMs: 100, jitter: 0 },
    subscriptions: [{ topic: 'p/+', stream: '{topic}', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
  });
  try {
    await s.start((b) => void got.push(b.samples[0].values[0]));
    await waitFor(() => got.length === 1, 'the message of the second connection', 10_000, () => t.calls('mqttConnection'));
    assert.deepEqual(got, [42]);
    const lost = t.calls('mqttConnection').filter(([up]) => !up);
    assert.equal(lost.length, 1, JSON.stringify(lost));
    assert.match(lost[0][1], /connection lost: MQTT packet incomplete: no byte of it arrived for 1000 ms/);
  } finally {
    await s.stop();
    broker.close();
  }
});
