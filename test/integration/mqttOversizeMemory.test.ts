// The MQTT reader's memory is bounded by mqtt.max_payload_bytes: a huge PUBLISH through a real Mosquitto is
// skipped as it arrives (counted as `oversize`), the reader's peak RSS does not grow by anything near its size,
// and the messages after it arrive; under MQTT 3.1.1 and MQTT 5 alike (a v5 PUBLISH carries properties before
// its payload). The reader runs in a child process so that its peak RSS is its own.
//
// Why 192 MiB and not 20: the socket's discarded 64 KiB reads are garbage that V8 collects only after some tens
// of MB of them (measured: +32 MB of peak RSS whether the payloads were 2 x 20 or 2 x 100 MiB). Unbounded, the
// reader held the packet and then a copy of it (measured: +41 MB for 2 x 20 MiB, +225 MB for 2 x 100 MiB). A
// payload well past that garbage allowance separates the two: bounded stays far under half the payload,
// unbounded is over twice it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { connectAsync, type MqttClient } from 'mqtt';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

/** One broker per protocol version: each reader sees its own test's messages only. */
const brokers = new Map<4 | 5, Mosquitto>();
let pub4: MqttClient;
let pub5: MqttClient;
/**
 * The measured readers, one per protocol version, started before this process allocates any payload: a child's
 * peak RSS (getrusage) starts at its parent's peak when it was spawned, so a reader spawned after the first
 * test's 192 MiB buffers would start at ~400 MB and hide its own growth.
 */
const readers = new Map<4 | 5, Reader>();

before(async () => {
  for (const version of [4, 5] as const) brokers.set(version, await startMosquitto());
  pub4 = await connectAsync(url(4), { clientId: `oversize-publisher-${process.pid}` });
  pub5 = await connectAsync(url(5), { clientId: `oversize-publisher5-${process.pid}`, protocolVersion: 5 });
  for (const version of [4, 5] as const) readers.set(version, reader(readerId(version), version));
});

after(async () => {
  for (const r of readers.values()) await r.stop();
  await pub4?.endAsync();
  await pub5?.endAsync();
  for (const b of brokers.values()) await b.close();
});

const readerId = (protocolVersion: 4 | 5): string => `oversize-reader${protocolVersion}-${process.pid}`;
const url = (protocolVersion: 4 | 5): string => brokers.get(protocolVersion)?.url ?? 'mqtt://broker-not-started';

interface Line {
  readonly maxRssKb: number;
  readonly delivered?: string;
  readonly rejected?: string;
  readonly topic?: string;
  readonly connected?: boolean;
}

/** The reader in a child process, with the lines it printed. */
interface Reader {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Line[];
  readonly stderr: () => string;
  readonly stop: () => Promise<void>;
}

function reader(clientId: string, protocolVersion: 4 | 5): Reader {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'oversizeSubscriber.js'), url(protocolVersion), clientId, String(1_048_576), String(protocolVersion)]);
  const lines: Line[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Line));
  const stop = async (): Promise<void> => {
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, lines, stderr: () => stderr, stop };
}

/** The reader under `protocolVersion`, fed by a publisher speaking the same version (v5: with properties). */
async function oversizeIsSkipped(protocolVersion: 4 | 5): Promise<void> {
  const payloadBytes = 192 * 1024 * 1024;
  const clientId = readerId(protocolVersion);
  const pub = protocolVersion === 5 ? pub5 : pub4;
  const properties = protocolVersion === 5 ? { properties: { contentType: 'text/plain', userProperties: { site: 'plant-7' } } } : {};
  const first = readers.get(protocolVersion);
  assert.ok(first);
  const { lines } = first;
  try {
    await waitFor(() => lines.some((l) => l.connected === true), 'the reader connected', 20_000, () => ({ lines, stderr: first.stderr() }));
    // Warm up: a few messages through the same path, so the baseline includes what normal reading costs.
    for (let i = 0; i < 20; i++) await pub.publishAsync('mem/warm', String(i), { qos: 1 });
    await waitFor(() => lines.filter((l) => l.delivered === 'mem/warm').length === 20, 'the warm-up messages', 20_000, () => lines);
    const baseline = lines[lines.length - 1].maxRssKb;
    await pub.publishAsync('mem/big', Buffer.alloc(payloadBytes, 0x31), { qos: 1, ...properties });
    await pub.publishAsync('mem/big0', Buffer.alloc(16 * 1024 * 1024, 0x32), { qos: 0, ...properties });
    await pub.publishAsync('mem/after', '42', { qos: 1 });
    await waitFor(() => lines.some((l) => l.delivered === 'mem/after'), 'the message after the big ones', 60_000, () => ({ lines: lines.slice(-5), stderr: first.stderr() }));
    assert.deepEqual(
      lines.filter((l) => l.rejected !== undefined).map((l) => [l.rejected, l.topic]),
      [['oversize', 'mem/big'], ['oversize', 'mem/big0']],
    );
    const grownKb = lines[lines.length - 1].maxRssKb - baseline;
    assert.ok(Number.isFinite(grownKb) && grownKb < payloadBytes / 1024 / 2, `peak RSS grew by ${grownKb} kB reading a ${payloadBytes}-byte payload`);
  } finally {
    await first.stop();
  }
  // The QoS 1 one was acknowledged: the resumed session does not bring it back.
  await pub.publishAsync('mem/resumed', '7', { qos: 1 });
  const second = reader(clientId, protocolVersion);
  try {
    await waitFor(() => second.lines.some((l) => l.delivered === 'mem/resumed'), 'the message queued for the resumed session', 20_000, () => ({ lines: second.lines, stderr: second.stderr() }));
    assert.deepEqual(second.lines.filter((l) => l.rejected !== undefined), [], 'nothing redelivered');
  } finally {
    await second.stop();
  }
}

void test('a 192 MiB PUBLISH is skipped without buffering it: peak RSS grows by far less than the payload, later messages arrive, and it is acknowledged', () => oversizeIsSkipped(4));

void test('MQTT 5: a 192 MiB PUBLISH with properties is skipped the same way: bounded peak RSS, counted, acknowledged, later messages arrive', () => oversizeIsSkipped(5));
