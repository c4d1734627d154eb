// A broker that refuses one of the daemon's subscriptions (real Mosquitto; its dynamic-security plugin denies
// subscribing to secret/#): under MQTT 3.1.1 the SUBACK says 0x80, under MQTT 5 a reason code >= 0x80 (here
// 0x87, not authorised). Either way the source logs an ERROR naming the refused filter and its code, counts the
// connection as up (the other filters hold) and delivers their messages; a refusal is not a dropped connection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { MqttSource, type MqttSubscriptionOptions } from '../../src/sources/mqtt';
import type { StreamSamples } from '../../src/sources/source';
import { testContext } from '../helpers/context';
import { dynamicSecurityMissing, startMosquittoRefusingSubscribe, waitFor, type Mosquitto } from '../helpers/mosquitto';

const skip = dynamicSecurityMissing;

let broker: Mosquitto;
let pub: MqttClient;

before(async () => {
  if (skip) return;
  // Anonymous clients may do everything except subscribe under secret/.
  broker = await startMosquittoRefusingSubscribe('secret/#');
  pub = await connectAsync(broker.url, { clientId: 'refused-publisher' });
});

after(async () => {
  await pub?.endAsync();
  await broker?.close();
});

const sub = (prefix: string): MqttSubscriptionOptions => ({
  topic: `${prefix}/+/+`,
  template: `${prefix}/{line}/{asset}`,
  stream: `${prefix}:{line}/{asset}`,
  decoder: 'json',
  channels: ['a'],
  timestamp: { source: 'auto', field: 'ts', unit: 'ms' },
});

for (const [version, code] of [[4, '0x80'], [5, '0x87']] as const) {
  void test(`MQTT ${version === 4 ? '3.1.1' : '5'}: a refused subscription (${code}) is logged and the others work`, { skip }, async () => {
    const t = testContext('source.mqtt');
    const got: StreamSamples[] = [];
    const s = new MqttSource(t.ctx, {
      url: broker.url,
      clientId: `anomalyd-refused-v${version}`,
      protocolVersion: version,
      subscriptions: [sub('open'), sub('secret')],
      reconnect: { minDelayMs: 100, maxDelayMs: 500, jitter: 0.2 },
    });
    let timer: NodeJS.Timeout | undefined;
    const started = await Promise.race([
      s.start((b) => void got.push(b)).then(() => 'started'),
      new Promise<string>((r) => (timer = setTimeout(() => r('start() did not settle within 10 s'), 10_000))),
    ]);
    clearTimeout(timer);
    try {
      assert.equal(started, 'started');
      assert.equal(s.connected, true, 'the connection counts as up');
      const refused = t.logs.filter((l) => l.level === 'error' && l.msg.startsWith('MQTT broker refused a subscription'));
      assert.deepEqual(refused.map((l) => [l.fields?.['topic'], l.fields?.['reason_code']]), [['secret/+/+', code]]);
      assert.deepEqual(t.calls('mqttConnection').map((c) => c[0]), [true]);
      await pub.publishAsync('open/line1/pump1', JSON.stringify({ ts: Date.now(), a: 1 }), { qos: 1 });
      await waitFor(() => got.length === 1, 'the message on the accepted filter', 10_000);
      assert.equal(got[0]?.stream, 'open:line1/pump1');
    } finally {
      await s.stop();
    }
  });
}
