// `anomalyd simulate` as a process (run through simulateCommand with dispatch's exit codes) against a real Mosquitto: well-formed messages on the documented topics,
// fault lines on stderr, clean stop on --duration and on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { decodePayload } from '../../src/sources/decoders';
import { AssetSchedule, PUMP_CHANNELS, simAssets, type PumpSchedule } from '../../src/simulator/signals';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

const SIMULATE = path.resolve(__dirname, '../../src/cli/simulate.js');

let broker: Mosquitto;

before(async () => {
  broker = await startMosquitto();
});

after(async () => {
  await broker?.close();
});

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
  lines: Record<string, unknown>[];
}

interface Child {
  kill(signal: NodeJS.Signals): void;
  /** Resolves once the start line is on stderr (signal handlers are installed by then). */
  readonly started: Promise<void>;
}

function simulate(args: string[], onSpawn?: (child: Child) => void): Promise<Run> {
  const script = `require(${JSON.stringify(SIMULATE)}).simulateCommand(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => { console.error(e.message); process.exitCode = e.name === 'UsageError' ? 2 : e.name === 'InputError' ? 1 : 3; })`;
  const child = spawn(process.execPath, ['-e', script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  let markStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('"event":"start"')) markStarted();
  });
  onSpawn?.({ kill: (signal) => child.kill(signal), started });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const lines = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stderr, stdout, lines });
    });
  });
}

async function subscriber(filter: string): Promise<{ client: MqttClient; messages: { topic: string; payload: Buffer; at: number }[] }> {
  const client = await connectAsync(broker.url, { clientId: `sim-sub-${Math.random().toString(16).slice(2)}` });
  const messages: { topic: string; payload: Buffer; at: number }[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload, at: Date.now() }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}

void test('pump profile: JSON with the 8 channels on plant/<line>/<asset>/telemetry at the rate, faults on stderr', async () => {
  const sub = await subscriber('plant/#');
  try {
    const run = await simulate(['--url', broker.url, '--assets', '2', '--lines', '2', '--rate-hz', '4', '--anomaly-every', '1', '--fault-duration', '0.5', '--duration', '3', '--seed', '7']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    await waitFor(() => sub.messages.length >= 48, '48 messages', 5000, () => sub.messages.length);
    const topics = [...new Set(sub.messages.map((m) => m.topic))].sort();
    assert.deepEqual(topics, ['plant/line1/pump1/telemetry', 'plant/line1/pump2/telemetry', 'plant/line2/pump1/telemetry', 'plant/line2/pump2/telemetry']);
    assert.equal(sub.messages.length, 48, '4 assets x 4 Hz x 3 s');
    for (const m of sub.messages) {
      const doc = JSON.parse(m.payload.toString()) as Record<string, number>;
      assert.deepEqual(Object.keys(doc), ['ts', ...PUMP_CHANNELS]);
      const r = decodePayload(m.payload, { kind: 'json', channels: PUMP_CHANNELS, timestamp: { source: 'payload', field: 'ts', unit: 'ms' }, maxPayloadBytes: 4096 }, m.at);
      assert.ok(r.ok, m.payload.toString());
      assert.ok(Math.abs(doc.ts - m.at) < 2000, 'published in real time');
    }
    const perTopic = sub.messages.filter((m) => m.topic === topics[0]).map((m) => (JSON.parse(m.payload.toString()) as { ts: number }).ts);
    assert.deepEqual(perTopic.slice(1).map((t, i) => t - perTopic[i]), Array(perTopic.length - 1).fill(250));
    const start = run.lines.find((l) => l.event === 'start');
    const stop = run.lines.find((l) => l.event === 'stop');
    assert.ok(start && stop, run.stderr);
    assert.equal(stop.messages, 48);
    const faults = run.lines.filter((l) => l.event === 'fault');
    assert.equal(faults.length, 2, run.stderr);
    for (const f of faults) {
      assert.match(String(f.asset), /^line[12]\/pump[12]$/);
      assert.equal(f.topic, `plant/${String(f.asset)}/telemetry`);
      assert.ok(['bearing_wear', 'cavitation', 'stuck_sensor', 'sensor_drift', 'spikes'].includes(String(f.kind)));
      assert.equal(Number(f.end) - Number(f.start), 500);
      assert.ok(Number(f.start) >= Number(stop.start) && Number(f.start) < Number(stop.start) + 3000);
      assert.equal(new Date(Number(f.start)).toISOString(), f.start_iso);
    }
  } finally {
    await sub.client.endAsync();
  }
});

void test('pump schedule: --silent-when-stopped publishes nothing while a pump stands still, and only then', async () => {
  const sub = await subscriber('sched/#');
  try {
    // Stops of 29 s every 30 s (16 s of standstill between the ramps), so some of the 8 pumps stand still for part of
    // the 4 s (all 8 running throughout has a chance of 1 in 7,000); which ticks those are follows from the run's
    // start time and the pumps' seeds.
    const run = await simulate(['--url', broker.url, '--assets', '8', '--rate-hz', '4', '--anomaly-every', '0', '--duration', '4', '--topic-prefix', 'sched', '--planned-stop-every', '30', '--planned-stop-duration', '29', '--duty-point-every', '60', '--duty-point-duration', '30', '--silent-when-stopped']);
    assert.equal(run.code, 0, run.stderr);
    const start = run.lines.find((l) => l.event === 'start');
    const stop = run.lines.find((l) => l.event === 'stop');
    assert.ok(start && stop, run.stderr);
    assert.equal(start.planned_stop_every_s, 30);
    assert.equal(start.duty_point_duration_s, 30);
    const schedule: PumpSchedule = { plannedStopEveryS: 30, plannedStopDurationS: 29, dutyPointEveryS: 60, dutyPointDurationS: 30 };
    const expected: string[] = [];
    let silent = 0;
    for (const a of simAssets('pump', 1, 8, 1, 'sched')) {
      const plan = new AssetSchedule(a.seed, schedule);
      for (let t = Number(stop.start); t < Number(stop.start) + 4000; t += 250) {
        if (plan.stopped(t)) silent++;
        else expected.push(`${a.topic} ${t}`);
      }
    }
    assert.ok(silent > 0, 'some pump stood still during the run');
    const stops = run.lines.filter((l) => l.event === 'planned_stop');
    assert.ok(stops.length > 0 && stops.every((l) => Number(l.end) - Number(l.start) === 29_000 && /^line1\/pump[1-8]$/.test(String(l.asset))), run.stderr);
    assert.equal(stop.messages, expected.length);
    await waitFor(() => sub.messages.length >= expected.length, `${expected.length} messages`, 5000, () => sub.messages.length);
    const got = sub.messages.map((m) => `${m.topic} ${(JSON.parse(m.payload.toString()) as { ts: number }).ts}`);
    assert.deepEqual(got.sort(), expected.sort());
  } finally {
    await sub.client.endAsync();
  }
});

void test('ecg profile: f32le chunks with a time header at 250 Hz', async () => {
  const sub = await subscriber('ward/#');
  try {
    const run = await simulate(['--url', broker.url, '--profile', 'ecg', '--assets', '1', '--chunk-samples', '125', '--anomaly-every', '0', '--duration', '2', '--topic-prefix', 'ward']);
    assert.equal(run.code, 0, run.stderr);
    await waitFor(() => sub.messages.length >= 4, '4 chunks', 5000, () => sub.messages.length);
    assert.equal(sub.messages.length, 4);
    let last = -Infinity;
    for (const m of sub.messages) {
      assert.equal(m.topic, 'ward/line1/ecg1/telemetry');
      assert.equal(m.payload.length, 12 + 125 * 4);
      const r = decodePayload(m.payload, { kind: 'f32le', channels: ['ecg_mv'], sampleRateHz: 250, timestamp: { source: 'payload', field: 'ts', unit: 'ms' }, maxPayloadBytes: 4096 }, m.at);
      assert.ok(r.ok);
      assert.equal(r.samples.length, 125);
      assert.equal(r.samples[0].ts, last === -Infinity ? r.samples[0].ts : last + 4, 'chunks are contiguous');
      last = r.samples[124].ts;
      const v = r.samples.map((s) => s.values[0]);
      assert.ok(Math.max(...v) < 2.5 && Math.min(...v) > -1.5);
    }
    assert.equal(run.lines.filter((l) => l.event === 'fault').length, 0);
  } finally {
    await sub.client.endAsync();
  }
});

void test('SIGTERM stops the simulator cleanly with exit code 0 and a stop line', async () => {
  let child: Child | undefined;
  const running = simulate(['--url', broker.url, '--assets', '1', '--rate-hz', '10'], (c) => (child = c));
  assert.ok(child);
  await child.started;
  await new Promise((r) => setTimeout(r, 1000));
  const signalled = Date.now();
  child.kill('SIGTERM');
  const run = await running;
  assert.equal(run.code, 0, run.stderr);
  assert.ok(Date.now() - signalled < 3000, 'stops promptly');
  const stop = run.lines.find((l) => l.event === 'stop');
  assert.ok(stop && Number(stop.messages) > 0, run.stderr);
});

void test('usage errors and an unreachable broker', async () => {
  const bad = await simulate(['--url', broker.url, '--profile', 'boiler']);
  assert.equal(bad.code, 2, 'a UsageError');
  assert.match(bad.stderr, /--profile must be pump or ecg/);
  const badNumber = await simulate(['--url', broker.url, '--assets', '0']);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--assets must be a positive integer/);
  const longStop = await simulate(['--url', broker.url, '--planned-stop-every', '60', '--planned-stop-duration', '60']);
  assert.equal(longStop.code, 2);
  assert.match(longStop.stderr, /planned stop duration must be at least 20 s and shorter than its period \(60 s\)/);
  const noBroker = await simulate(['--url', 'mqtt://127.0.0.1:1', '--duration', '1']);
  assert.equal(noBroker.code, 1, 'an InputError: message only, exit 1');
  assert.match(noBroker.stderr, /Cannot connect to MQTT broker mqtt:\/\/127\.0\.0\.1:1/);
});
