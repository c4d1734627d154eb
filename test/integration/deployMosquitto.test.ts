// deploy/mosquitto/mosquitto.conf in a real Mosquitto: a persistent QoS 1 session (what anomalyd uses) that is
// offline while 5,000 messages are published, across a broker restart, gets every one of them. The same
// scenario with Mosquitto's default queue limit loses most of them, which shows the test can fail and why the
// file raises the limit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { connect, connectAsync } from 'mqtt';
import { isPortListening } from '../../src/sources/broker';
import { ensurePackage } from '../helpers/ensurePackage';
import { freePort } from '../helpers/ports';

const CONF = path.resolve(__dirname, '../../../deploy/mosquitto/mosquitto.conf');
const MOSQUITTO = '/usr/sbin/mosquitto';
const MESSAGES = 5000;

/** The deploy config with only what cannot work outside the container changed: port, data dir, log file. */
function localConfig(text: string, port: number, dir: string): string {
  const out = text
    .replace(/^listener \d+ \S+$/m, `listener ${port} 127.0.0.1`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    .replace(/^log_dest .*$/m, `log_dest file ${dir}/mosquitto.log`);
  assert.notEqual(out, text);
  // As root, mosquitto would drop to the 'mosquitto' user, which cannot write the temp dir.
  return process.getuid?.() === 0 ? `${out}\nuser root\n` : out;
}

async function runBroker(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await isPortListening('127.0.0.1', port, 200))) {
    assert.ok(child.exitCode === null && Date.now() < deadline, `mosquitto did not start with ${conf}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stopBroker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM'); // a clean stop writes the persistence file
  await exited;
}

/** Messages an offline persistent QoS 1 subscriber receives after MESSAGES were published and the broker restarted. */
async function deliveredAfterOutage(configText: string): Promise<number> {
  ensurePackage(MOSQUITTO, 'mosquitto');
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-mosq-deploy-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, localConfig(configText, port, dir));
  const url = `mqtt://127.0.0.1:${port}`;
  let broker = await runBroker(conf, port);
  try {
    const session = { clientId: 'anomalyd-deploy-test', clean: false, reconnectPeriod: 0 };
    const sub = await connectAsync(url, session);
    await sub.subscribeAsync('plant/+/+/telemetry', { qos: 1 });
    await sub.endAsync();

    const pub = await connectAsync(url, { clientId: 'publisher', reconnectPeriod: 0 });
    for (let i = 0; i < MESSAGES; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => pub.publishAsync('plant/line1/pump1/telemetry', JSON.stringify({ n: i + k }), { qos: 1 })));
    }
    await pub.endAsync();

    await stopBroker(broker);
    broker = await runBroker(conf, port);

    const seen = new Set<number>();
    // The handler must be in place before the session resumes: the broker sends the queue right after CONNACK,
    // possibly in the same TCP read (connectAsync would resolve too late and miss the first message).
    const back = connect(url, session);
    back.on('message', (_topic, payload) => seen.add((JSON.parse(payload.toString()) as { n: number }).n));
    // A marker published once the session is back is queued behind everything the broker kept for it: when the
    // marker arrives, every kept message has (not "nothing new for a second", which a slow machine could cut short).
    await new Promise<void>((resolve, reject) => {
      back.once('connect', () => resolve());
      back.once('error', reject);
    });
    const marker = await connectAsync(url, { clientId: 'marker', reconnectPeriod: 0 });
    await marker.publishAsync('plant/line1/pump1/telemetry', JSON.stringify({ n: -1 }), { qos: 1 });
    await marker.endAsync();
    const deadline = Date.now() + 30_000;
    while (!seen.has(-1)) {
      if (Date.now() > deadline) throw new Error(`the marker did not arrive within 30 s (${seen.size} messages seen)`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await back.endAsync();
    seen.delete(-1);
    return seen.size;
  } finally {
    await stopBroker(broker);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('deploy mosquitto.conf: an offline persistent session loses no QoS 1 message, even across a broker restart', async () => {
  assert.equal(await deliveredAfterOutage(readFileSync(CONF, 'utf8')), MESSAGES);
});

test('the same outage with Mosquitto\'s default queue limit loses messages (why the limit is raised)', async () => {
  const defaults = readFileSync(CONF, 'utf8').replace(/^max_queued_messages .*$/m, '');
  const delivered = await deliveredAfterOutage(defaults);
  assert.ok(delivered < MESSAGES / 2, `with the default max_queued_messages (1000) ${delivered} of ${MESSAGES} arrived`);
});
