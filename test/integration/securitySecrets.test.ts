// Item 13 (issue 5): canary secrets (the MQTT password from a password_file checked by a real Mosquitto password
// file, the InfluxDB password, the webhook signing secret and the HTTP bearer token) never appear in the daemon's
// output at log level debug, in /metrics, on the status page, in health answers, in webhook bodies, or in the
// errors of `validate` - while the daemon goes through failures that log (InfluxDB down, receiver 500, broker
// restart).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { isPortListening } from '../../src/sources/broker';
import { connectMqttPublisher } from '../../src/sources/mqttClient';
import { pumpPayload } from '../../src/simulator/signals';
import { DaemonProcess, HookReceiver, MAIN, metricValue, pollUntil, publishAll, pumpConfig, pumpSeries, simAssets, sleep, topicOf } from '../helpers/faults';
import { freePort } from '../helpers/ports';

const CANARY = {
  mqtt: 'canary-mqtt-7f3a9c1e',
  influx: 'canary-influx-2b8d4e6f',
  webhook: 'canary-webhook-5c1e9a3b',
  token: 'canary-token-9d2f7a4c',
};
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;

let dir: string;
let brokerPort: number;
let broker: ChildProcess | null = null;
const receiver = new HookReceiver();
let daemon: DaemonProcess | undefined;

async function startBroker(): Promise<void> {
  const proc = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  broker = proc;
  const deadline = Date.now() + 10_000;
  while (!(await isPortListening('127.0.0.1', brokerPort, 200))) {
    if (Date.now() > deadline) throw new Error('mosquitto with a password file did not start');
    await sleep(50);
  }
}

async function stopBroker(): Promise<void> {
  const proc = broker;
  broker = null;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-security-secrets-'));
  brokerPort = await freePort();
  execFileSync('mosquitto_passwd', ['-b', '-c', path.join(dir, 'passwd'), 'anomalyd', CANARY.mqtt], { stdio: 'pipe' });
  await writeFile(
    path.join(dir, 'mosquitto.conf'),
    [`listener ${brokerPort} 127.0.0.1`, 'allow_anonymous false', `password_file ${path.join(dir, 'passwd')}`, ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'),
  );
  await writeFile(path.join(dir, 'mqtt-password'), `${CANARY.mqtt}\n`);
  await writeFile(path.join(dir, 'token'), `${CANARY.token}\n`);
  await Promise.all([startBroker(), receiver.start()]);
});

after(async () => {
  await daemon?.stop();
  await receiver.close();
  await stopBroker();
  await rm(dir, { recursive: true, force: true });
});

test('canary secrets never appear in logs (debug), /metrics, the status page, health answers or error messages', async () => {
  const httpPort = await freePort();
  const deadInflux = await freePort();
  const config = path.join(dir, 'config.yaml');
  const text = pumpConfig({
    httpPort,
    stateDir: path.join(dir, 'var'),
    mqttUrl: `mqtt://127.0.0.1:${brokerPort}`,
    clientId: 'anomalyd-security-secrets',
    logLevel: 'debug',
    mqttExtra: `  username: anomalyd\n  password_file: ${path.join(dir, 'mqtt-password')}`,
    sinks: `  influx: { url: http://127.0.0.1:${deadInflux}/anomalyd, username: admin, password: ${CANARY.influx}, timeout_ms: 500 }
  webhooks:
    - { name: oncall, url: ${receiver.url}, secret: ${CANARY.webhook}, retry_base_ms: 100, retry_max_delay_ms: 300 }`,
  }).replace(`http: { host: 127.0.0.1, port: ${httpPort} }`, `http: { host: 127.0.0.1, port: ${httpPort}, token_file: ${path.join(dir, 'token')} }`);
  await writeFile(config, text);
  daemon = new DaemonProcess(config, httpPort, dir);
  const d = daemon;
  await d.ready();
  const auth = { authorization: `Bearer ${CANARY.token}` };

  // Failures that log: InfluxDB unreachable (always), the receiver answering 500, the broker restarted.
  receiver.respond = () => 500;
  const pub = await connectMqttPublisher({ url: `mqtt://127.0.0.1:${brokerPort}`, clientId: 'secrets-publisher', username: 'anomalyd', password: CANARY.mqtt });
  const samples = pumpSeries(simAssets('pump', 2, 3, 1)[0].seed, T0, 200, [[60, 200]]);
  await publishAll(pub, samples.map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 50);
  await pub.close();
  await pollUntil('webhook retries', () => Promise.resolve(receiver.requests.length), (n) => n >= 3, 20_000);
  receiver.respond = () => 200;
  await stopBroker();
  // Down until the daemon has logged the lost connection and a failed reconnect attempt (the log lines that
  // would carry the MQTT credentials), not for a fixed time.
  await pollUntil('the daemon to notice the broker gone', async () => metricValue(await d.metricsText(auth), 'anomalyd_mqtt_connected'), (v) => v === 0, 15_000);
  await pollUntil('a failed reconnect attempt logged', () => Promise.resolve(d.log), (log) => /MQTT reconnect attempt failed/.test(log), 15_000);
  await startBroker();
  await pollUntil('the daemon to reconnect', async () => metricValue(await d.metricsText(auth), 'anomalyd_mqtt_connected'), (v) => v === 1, 15_000);

  const outputs: Record<string, string> = {
    metrics: await d.metricsText(auth),
    status: await (await fetch(`${d.base}/`, { headers: auth })).text(),
    apiAlerts: await (await fetch(`${d.base}/api/v1/alerts`, { headers: auth })).text(),
    apiStreams: await (await fetch(`${d.base}/api/v1/streams`, { headers: auth })).text(),
    unauthorized: await (await fetch(`${d.base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).text(),
    readyz: await (await fetch(`${d.base}/readyz`)).text(),
    healthz: await (await fetch(`${d.base}/healthz`)).text(),
    webhookBodies: receiver.requests.map((r) => r.raw + JSON.stringify(r.headers)).join('\n'),
  };
  assert.equal((await d.stop()).code, 0);
  outputs.daemonLog = d.log;
  // Error messages: validate on the same config made invalid, and run with an unreachable model.
  const bad = text.replace('keepalive_s', 'x').replace('log: { level: debug }', 'log: { level: debug, nope: 1 }').replace(`password: ${CANARY.influx},`, `password: ${CANARY.influx}, bogus: ${CANARY.influx},`);
  await writeFile(path.join(dir, 'bad.yaml'), bad);
  const v = spawnSync(process.execPath, [MAIN, 'validate', '-c', path.join(dir, 'bad.yaml')], { encoding: 'utf8' });
  outputs.validate = v.stdout + v.stderr;
  const vj = spawnSync(process.execPath, [MAIN, 'validate', '-c', path.join(dir, 'bad.yaml'), '--json'], { encoding: 'utf8' });
  outputs.validateJson = vj.stdout + vj.stderr;

  const leaks: string[] = [];
  for (const [where, out] of Object.entries(outputs)) for (const [name, secret] of Object.entries(CANARY)) if (out.includes(secret)) leaks.push(`${name} in ${where}`);
  console.log(
    `[item 13] scanned ${Object.entries(outputs).map(([k, o]) => `${k} ${o.length} B`).join(', ')}; ` +
      `log lines ${outputs.daemonLog.split('\n').length} (debug); validate exit ${v.status}; leaks: ${leaks.length ? leaks.join(', ') : 'none'}`,
  );
  assert.equal(v.status, 1, 'the invalid config is refused');
  assert.match(outputs.validate, /bogus|nope/);
  assert.match(outputs.daemonLog, /DEBUG/, 'debug logging was on');
  assert.match(outputs.daemonLog, /Sink write failed|InfluxDB/, 'InfluxDB errors were logged');
  assert.ok(receiver.requests.some((r) => r.status === 500), 'webhook failures were logged');
  assert.match(outputs.metrics, /anomalyd_messages_received_total/, 'the token was accepted');
  assert.deepEqual(leaks, []);
});
