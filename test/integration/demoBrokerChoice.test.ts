// `npm start` (anomalyd run with the bundled config/default.yaml) and the broker it uses. With a broker already
// listening at mqtt.url (a real Mosquitto playing someone's own broker, reached through MQTT_URL), the first
// lines say so and why, the simulator publishes nothing there, the daemon's session is a clean one that does
// not outlive it, and the broker's $SYS drop count reaches anomalyd_broker_dropped_messages_total with a WARN.
// With nothing listening, the daemon starts its own broker, says so, and the simulator feeds it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connectAsync } from 'mqtt';
import { DaemonProcess, ROOT, pollUntil, sleep } from '../helpers/faults';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const DEFAULT_CONFIG = path.join(ROOT, 'config', 'default.yaml');
let dir: string;
let broker: Mosquitto;
let daemon: DaemonProcess | undefined;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-demo-broker-'));
  broker = await startMosquitto({ extraConfig: ['sys_interval 1', 'max_queued_messages 10'] });
});

after(async () => {
  await daemon?.stop();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

async function startDemo(mqttUrl: string, stateDir: string): Promise<DaemonProcess> {
  const port = await freePort();
  daemon = new DaemonProcess(DEFAULT_CONFIG, port, ROOT, { ...process.env, MQTT_URL: mqttUrl, HTTP_PORT: String(port), STATE_DIR: path.join(dir, stateDir) });
  await daemon.ready();
  return daemon;
}

/** The daemon's own log lines (a Node warning on stderr is not one of them). */
function logLines(log: string): string[] {
  return log.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
}

/** Whether the broker holds a session for clientId (connecting with clean=false creates one, so use once). */
async function hasSession(url: string, clientId: string): Promise<boolean> {
  const c = await connectAsync(url, { clientId, clean: false });
  const present = (c as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent;
  await c.endAsync();
  if (present === undefined) throw new Error('mqtt.js no longer exposes the CONNACK; read sessionPresent another way');
  return present;
}

test('a broker already on the URL: said first, no simulated data, no session left, its drops counted and warned', async () => {
  const telemetry: string[] = [];
  const watcher = await connectAsync(broker.url, { clientId: 'watcher' });
  watcher.on('message', (topic) => telemetry.push(topic));
  await watcher.subscribeAsync('plant/#', { qos: 0 });
  // Someone's slow consumer: a parked persistent QoS 1 session the broker queues for, up to 10 messages.
  const slow = await connectAsync(broker.url, { clientId: 'slow-consumer', clean: false });
  await slow.subscribeAsync('flood/#', { qos: 1 });
  await slow.endAsync();

  const d = await startDemo(broker.url, 'var-external');
  const readyAt = Date.now();
  const lines = logLines(d.log);
  assert.match(lines[0], new RegExp(`INFO +Using the MQTT broker at mqtt\\.url, which anomalyd did not start\\. .*already listens on 127\\.0\\.0\\.1:${broker.port}`));
  assert.match(lines[1], /WARN +The built-in simulator does not publish to a broker anomalyd did not start.*publish_to_external_broker: true/);
  assert.match(d.log, /Connected to MQTT broker\. .*\(clean session\)/);

  const flooder = await connectAsync(broker.url, { clientId: 'flooder' });
  await Promise.all(Array.from({ length: 30 }, (_, i) => flooder.publishAsync('flood/x', String(i), { qos: 1 })));
  await flooder.endAsync();
  await pollUntil('the broker\'s 20 drops on anomalyd_broker_dropped_messages_total', () => d.metric('anomalyd_broker_dropped_messages_total'), (v) => v === 20);
  await pollUntil('the drop warning', () => Promise.resolve(d.log), (log) => /WARN +The MQTT broker dropped messages\. dropped=20 .*max_queued_messages/.test(log));

  // An absence needs a span of time: the simulator would publish 3 messages a second.
  await sleep(Math.max(0, 3000 - (Date.now() - readyAt)));
  assert.deepEqual(telemetry, [], 'no simulated telemetry on a broker anomalyd did not start');
  await watcher.endAsync();

  const exit = await d.stop();
  assert.equal(exit.code, 0, d.log.slice(-2000));
  assert.doesNotMatch(d.log, /ERROR/);
  assert.equal(await hasSession(broker.url, 'slow-consumer'), true, 'the probe sees a persistent session');
  assert.equal(await hasSession(broker.url, `anomalyd-${hostname()}`), false, 'anomalyd left no session behind');
});

test('nothing on the URL: the daemon starts its own broker, says so first, and the simulator feeds it', async () => {
  const port = await freePort();
  const d = await startDemo(`mqtt://127.0.0.1:${port}`, 'var-embedded');
  const [first] = logLines(d.log);
  assert.match(first, new RegExp(`INFO +Using the MQTT broker anomalyd started in-process .*port=${port} .*nothing listened on 127\\.0\\.0\\.1:${port}`));
  await pollUntil('simulated messages through the embedded broker', () => d.metric('anomalyd_messages_received_total'), (v) => v >= 3);
  assert.doesNotMatch(d.log, /does not publish to a broker/);
  const exit = await d.stop();
  assert.equal(exit.code, 0, d.log.slice(-2000));
});
