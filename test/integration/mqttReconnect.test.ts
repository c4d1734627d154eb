// Broker outages: the source notices, backs off with jitter, reconnects, subscribes again and resumes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { MqttSource } from '../../src/sources/mqtt';
import { testContext } from '../helpers/context';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

let broker: Mosquitto;

before(async () => {
  broker = await startMosquitto();
});

after(async () => {
  await broker?.close();
});

async function publish(topic: string, payload: string): Promise<void> {
  const pub = await connectAsync(broker.url, { clientId: `pub-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
  await pub.publishAsync(topic, payload, { qos: 1 });
  await pub.endAsync();
}

void test('broker killed and restarted: reconnect with growing delays, resubscribe, messages after restart arrive', async () => {
  const t = testContext('source.mqtt');
  const got: number[] = [];
  const s = new MqttSource(t.ctx, {
    url: broker.url,
    clientId: `anomalyd-reconnect-${process.pid}`,
    reconnect: { minDelayMs: 100, maxDelayMs: 800, jitter: 0.2 },
    connectTimeoutMs: 1000,
    keepaliveS: 5,
    subscriptions: [{ topic: 'rc/+', template: 'rc/{id}', stream: '{id}', decoder: 'json', channels: ['v'], timestamp: { source: 'auto', field: 'ts', unit: 'ms' } }],
  });
  await s.start((b) => void got.push(b.samples[0].values[0]));
  try {
    await publish('rc/a', '{"v": 1}');
    await waitFor(() => got.length === 1, 'the first message');

    // SIGKILL: the broker saves nothing, so the session and its subscriptions are gone after the restart; only a
    // client that subscribes again on reconnect gets the later messages.
    await broker.kill();
    await waitFor(() => !s.connected, 'the source to notice the lost connection');
    // Down until the source has failed four reconnect attempts (the backoff checked below), not for a fixed time.
    const failed = (): number[] => t.logs.filter((l) => l.msg === 'MQTT reconnect attempt failed.').map((l) => Number(l.fields?.retry_in_ms));
    await waitFor(() => failed().length >= 4, 'four failed reconnect attempts', 10_000, failed);
    const retries = failed();
    assert.ok(retries.every((d) => d >= 80 && d <= 960), `delays within min/max and jitter: ${retries.join(', ')}`);
    assert.ok(retries[retries.length - 1] > retries[0], `delays grow: ${retries.join(', ')}`);

    await broker.restart();
    await waitFor(() => s.connected, 'the source to reconnect', 5000);
    await publish('rc/b', '{"v": 2}');
    await waitFor(() => got.length === 2, 'a message published after the restart', 5000, () => got);
    assert.deepEqual(got, [1, 2]);
    const conn = t.calls('mqttConnection');
    assert.deepEqual(conn.map((c) => c[0]), [true, false, true], JSON.stringify(conn));
    assert.match(conn[1][1], /connection lost.*retrying in \d+ ms/);
    assert.match(conn[2][1], /new session/);
  } finally {
    await s.stop();
  }
});

void test('broker down at start: start() returns after the first failed attempt and connects once the broker is up', async () => {
  await broker.stop();
  const t = testContext('source.mqtt');
  const s = new MqttSource(t.ctx, {
    url: broker.url,
    clientId: `anomalyd-late-${process.pid}`,
    reconnect: { minDelayMs: 100, maxDelayMs: 300, jitter: 0 },
    subscriptions: [{ topic: 'late/+', stream: '{topic}', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
  });
  const got: number[] = [];
  const started = Date.now();
  await s.start((b) => void got.push(b.samples[0].values[0]));
  try {
    assert.ok(Date.now() - started < 3000);
    assert.equal(s.connected, false);
    const [first] = t.calls('mqttConnection');
    assert.equal(first[0], false);
    assert.match(first[1], /cannot connect to mqtt:\/\/127\.0\.0\.1:\d+\/?: .*retrying/);
    await broker.restart();
    await waitFor(() => s.connected, 'the connection once the broker is up', 5000);
    await publish('late/x', '5');
    await waitFor(() => got.length === 1, 'a message');
    assert.deepEqual(got, [5]);
  } finally {
    await s.stop();
  }
  // stop() is idempotent and ends reconnecting.
  await s.stop();
  assert.equal(s.connected, false);
});

void test('stop() during an outage ends the reconnect loop promptly', async () => {
  const t = testContext('source.mqtt');
  const s = new MqttSource(t.ctx, {
    url: 'mqtt://127.0.0.1:1',
    clientId: `anomalyd-nowhere-${process.pid}`,
    reconnect: { minDelayMs: 50, maxDelayMs: 100, jitter: 0 },
    subscriptions: [{ topic: 'x', stream: 'x', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
  });
  await s.start(() => undefined);
  // In the outage's reconnect loop: attempts have failed and more are scheduled.
  await waitFor(() => t.logs.filter((l) => l.msg === 'MQTT reconnect attempt failed.').length >= 2, 'two failed reconnect attempts', 5000);
  const t0 = Date.now();
  await s.stop();
  assert.ok(Date.now() - t0 < 2000);
  const attempts = t.logs.length;
  // Three times max_delay_ms: an attempt still scheduled would have logged by then (nothing positive to wait for).
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(t.logs.length, attempts, 'no attempts after stop');
});
