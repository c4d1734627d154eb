// The embedded aedes broker of the demo: a publish/subscribe round trip through MqttSource, and the
// `embedded_broker: auto` probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { embeddedBrokerDecision, embeddedBrokerTarget, isPortListening, startEmbeddedBroker } from '../../src/sources/broker';
import { MqttSource } from '../../src/sources/mqtt';
import type { StreamSamples } from '../../src/sources/source';
import { testContext } from '../helpers/context';
import { waitFor } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

void test('aedes accepts a QoS 1 publish/subscribe round trip through MqttSource', async () => {
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const t = testContext('source.mqtt');
  const got: StreamSamples[] = [];
  const s = new MqttSource(t.ctx, {
    url,
    clientId: 'anomalyd-embedded-test',
    subscriptions: [{ topic: 'plant/+/+/telemetry', template: 'plant/{line}/{asset}/telemetry', stream: '{line}/{asset}', decoder: 'json', channels: ['a'], timestamp: { source: 'auto', field: 'ts', unit: 'ms', maxAgeMs: 0 } }],
  });
  try {
    await s.start((b) => void got.push(b));
    assert.equal(s.connected, true);
    const pub = await connectAsync(url);
    await pub.publishAsync('plant/line1/pump1/telemetry', '{"a": 3.5, "ts": 1700000000000}', { qos: 1 });
    await pub.endAsync();
    await waitFor(() => got.length === 1, 'the message through aedes');
    assert.equal(got[0].stream, 'line1/pump1');
    assert.deepEqual(Array.from(got[0].samples[0].values), [3.5]);
    assert.equal(got[0].samples[0].ts, 1_700_000_000_000);
  } finally {
    await s.stop();
    await broker.close();
  }
  assert.equal(await isPortListening('127.0.0.1', broker.port), false, 'closed broker releases the port');
});

void test('isPortListening and embedded_broker auto/on/off', async () => {
  const port = await freePort();
  assert.equal(await isPortListening('127.0.0.1', port), false);
  assert.deepEqual(await embeddedBrokerTarget('auto', `mqtt://127.0.0.1:${port}`), { host: '127.0.0.1', port });
  assert.deepEqual(await embeddedBrokerTarget('auto', `mqtt://localhost:${port}`), { host: '127.0.0.1', port });
  assert.equal(await embeddedBrokerTarget('auto', `mqtt://broker.example.com:${port}`), null, 'not loopback');
  assert.equal(await embeddedBrokerTarget('auto', `mqtts://127.0.0.1:${port}`), null, 'TLS needs a real broker');
  assert.equal(await embeddedBrokerTarget('off', `mqtt://127.0.0.1:${port}`), null);
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port });
  try {
    assert.equal(broker.port, port);
    assert.equal(await isPortListening('127.0.0.1', port), true);
    assert.equal(await embeddedBrokerTarget('auto', `mqtt://127.0.0.1:${port}`), null, 'something already listens');
    assert.deepEqual(await embeddedBrokerTarget('on', `mqtt://127.0.0.1:${port}`), { host: '127.0.0.1', port });
    await assert.rejects(startEmbeddedBroker({ host: '127.0.0.1', port }), /EADDRINUSE/);
  } finally {
    await broker.close();
    await broker.close();
  }
});

void test('embeddedBrokerDecision says why, for the start-up log', async () => {
  const port = await freePort();
  assert.deepEqual(await embeddedBrokerDecision('off', `mqtt://127.0.0.1:${port}`), { target: null, reason: 'mqtt.embedded_broker is off' });
  assert.match((await embeddedBrokerDecision('auto', 'mqtts://broker.example.com:8883')).reason, /mqtt\.url is not a plain mqtt:\/\/ loopback address/);
  assert.match((await embeddedBrokerDecision('auto', `mqtt://localhost:${port}`)).reason, new RegExp(`nothing listened on 127\\.0\\.0\\.1:${port}$`));
  assert.equal((await embeddedBrokerDecision('on', `mqtt://127.0.0.1:${port}`)).reason, 'mqtt.embedded_broker is on');
});
