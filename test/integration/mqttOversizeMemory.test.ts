// The MQTT reader's memory is bounded by mqtt.max_payload_bytes: a huge PUBLISH through a real Mosquitto is
// skipped as it arrives (counted as `oversize`), the reader's peak RSS does not grow by anything near its size,
// and the messages after it arrive. The reader runs in a child process so that its peak RSS is its own.
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

let broker: Mosquitto;
let pub: MqttClient;

before(async () => {
  broker = await startMosquitto();
  pub = await connectAsync(broker.url, { clientId: `oversize-publisher-${process.pid}` });
});

after(async () => {
  await pub?.endAsync();
  await broker?.close();
});

interface Line {
  readonly maxRssKb: number;
  readonly delivered?: string;
  readonly rejected?: string;
  readonly topic?: string;
  readonly connected?: boolean;
}

/** The reader in a child process, with the lines it printed. */
function reader(clientId: string): { child: ChildProcessWithoutNullStreams; lines: Line[]; stderr: () => string; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'oversizeSubscriber.js'), broker.url, clientId, String(1_048_576)]);
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

void test('a 192 MiB PUBLISH is skipped without buffering it: peak RSS grows by far less than the payload, later messages arrive, and it is acknowledged', async () => {
  const payloadBytes = 192 * 1024 * 1024;
  const clientId = `oversize-reader-${process.pid}`;
  const first = reader(clientId);
  const { lines } = first;
  try {
    await waitFor(() => lines.some((l) => l.connected === true), 'the reader connected', 20_000, () => ({ lines, stderr: first.stderr() }));
    // Warm up: a few messages through the same path, so the baseline includes what normal reading costs.
    for (let i = 0; i < 20; i++) await pub.publishAsync('mem/warm', String(i), { qos: 1 });
    await waitFor(() => lines.filter((l) => l.delivered === 'mem/warm').length === 20, 'the warm-up messages', 20_000, () => lines);
    const baseline = lines[lines.length - 1].maxRssKb;
    await pub.publishAsync('mem/big', Buffer.alloc(payloadBytes, 0x31), { qos: 1 });
    await pub.publishAsync('mem/big0', Buffer.alloc(16 * 1024 * 1024, 0x32), { qos: 0 });
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
  const second = reader(clientId);
  try {
    await waitFor(() => second.lines.some((l) => l.delivered === 'mem/resumed'), 'the message queued for the resumed session', 20_000, () => ({ lines: second.lines, stderr: second.stderr() }));
    assert.deepEqual(second.lines.filter((l) => l.rejected !== undefined), [], 'nothing redelivered');
  } finally {
    await second.stop();
  }
});
