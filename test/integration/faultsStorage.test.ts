// Faults 8 and 9 (issue 5): damaged state (state file, alert history, InfluxDB spool segment, webhook outbox) and a full disk;
// a missing, corrupt or wrongly shaped model. The daemon starts on damaged state using what is intact and counts
// the rest; with a bad model it serves /readyz 503 saying why, and scores nothing (so nothing can page).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { counterValue, faultSuite, metricValue, pollUntil, publishAll, pumpArrayPayload, PUMP_MODEL, sleep, topicOf, type ConfigParts, type DaemonProcess } from '../helpers/faults';
import { freePort } from '../helpers/ports';

const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const suite = faultSuite('storage', { influx: true, receiver: true });

function daemonWith(name: string, parts: Partial<ConfigParts>): Promise<DaemonProcess> {
  return suite.daemon(name, parts);
}

test('damaged state file, spool segment and outbox: intact records used, broken ones counted, the daemon starts', async () => {
  const state = path.join(suite.dir, 'damaged');
  await mkdir(path.join(state, 'spool', 'influx'), { recursive: true });
  await writeFile(path.join(state, 'state.json'), '{"format":1,"sequence":41,"alerts":{"line1/pum'); // truncated
  await writeFile(path.join(state, 'spool', 'influx', '0000000000000000.seg'), Buffer.from('garbage that is no frame at all, torn'));
  // An outbox with one intact notice line taken from a real run is not needed: a damaged line must be skipped
  // and counted, the file must not stop the daemon.
  await writeFile(path.join(state, 'webhook-oncall.outbox'), 'not a checksummed line\n{"half": \n');
  await writeFile(path.join(state, 'alert-history.json'), '{"format":1,"episodes":[{"fingerprint":"x","str'); // truncated
  const d = await daemonWith('damaged', {
    sinks: `  influx: { url: http://127.0.0.1:${await freePort()}/anomalyd }\n  webhooks:\n    - { name: oncall, url: ${suite.receiver.url} }`,
  });
  await d.ready();
  const text = await d.metricsText();
  const outboxCorrupt = /anomalyd_sink_points_dropped_total\{sink="webhook.oncall",reason="spool_corrupt"\} (\d+)/.exec(text)?.[1];
  const spoolCorrupt = /anomalyd_sink_points_dropped_total\{sink="influx",reason="spool_corrupt"\} (\d+)/.exec(text)?.[1];
  const aside = (await readdir(state)).filter((f) => f.startsWith('state.json.corrupt-'));
  console.log(`[fault 8] damaged state: state file set aside as ${aside.join(',')}; outbox lines counted corrupt ${outboxCorrupt}; spool records counted corrupt ${spoolCorrupt ?? 0}; daemon ready`);
  assert.match(d.log, /State file is corrupt; starting with empty alert state/);
  assert.equal(aside.length, 1);
  assert.equal((await readdir(state)).filter((f) => f.startsWith('alert-history.json.corrupt-')).length, 1, 'the damaged alert history is set aside');
  assert.match(d.log, /The alert history file is damaged; starting with an empty history/);
  assert.equal(outboxCorrupt, '2');
  assert.ok(d.running);
  assert.equal((await d.stop()).code, 0);
});

test('disk full under the state directory: a clear error, input paused (messages stay at the broker), nothing lost once space returns', { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false }, async () => {
  const { influx } = suite;
  const state = path.join(suite.dir, 'full');
  await mkdir(state, { recursive: true });
  // 256 KiB for the state file, the sample journal and the InfluxDB spool, with InfluxDB down: full within seconds.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', state]);
  try {
    const d = await daemonWith('full', {
      decoder: 'json_array',
      sinks: `  influx: { url: ${influx.url}/anomalyd, buffer_max_points: 100, flush_interval_ms: 100 }`,
      extra: 'queues: { capacity: 20 }\nbatching: { max_batch: 8, max_wait_ms: 20 }',
    });
    await d.ready();
    await influx.down();
    const pub = await suite.publisher('faults-full-publisher');
    const TICKS = 100;
    const STREAMS = 20;
    const samples = pumpSamples(61, T0, 30 + 10 * TICKS);
    const topics = Array.from({ length: STREAMS }, (_, k) => topicOf(`pump${k}`));
    for (let t = 0; t < TICKS; t++) {
      const from = t === 0 ? 0 : 30 + 10 * (t - 1);
      await publishAll(pub, topics.map((topic) => ({ topic, payload: pumpArrayPayload(samples.slice(from, t === 0 ? 30 : from + 10)) })));
    }
    const published = TICKS * STREAMS;
    // The broker took every message (the publisher's QoS 1 acknowledgements); the daemon stops taking them.
    // Seen once under load: never paused in 30 s. What the daemon said and how full the disk was tell why next time.
    const paused = await pollUntil('input paused', () => d.metric('anomalyd_ingestion_paused'), (v) => v === 1, 30_000).catch((err: unknown) => {
      const df = execFileSync('df', ['-k', '--output=used,size', state]).toString().trim();
      throw new Error(`${String(err)}; df ${df.replace(/\s+/g, ' ')}; log tail:\n${d.log.slice(-3000)}`);
    });
    // What was taken before the pause has gone through the pipeline (nothing queued inside the daemon), then
    // 3 s of observation: the claim is that no message is taken while paused, so this one wait is its length.
    await pollUntil('the pipeline queues empty', async () => counterValue(await d.metricsText(), 'anomalyd_queue_depth'), (v) => v === 0, 30_000);
    const before = await d.metricsText();
    await sleep(3000);
    const after = await d.metricsText();
    const receivedPaused = metricValue(after, 'anomalyd_messages_received_total');
    const readyz = await fetch(`${d.base}/readyz`);
    const readyBody = await readyz.text();
    // Journal, state file and spool share the full disk: whichever write fails first names the pause (the journal
    // is written once per event-loop turn, so the spool is often first).
    const line = /.*Input paused: (Disk full|.*cannot write \(ENOSPC).*/.exec(d.log)?.[0] ?? d.log.slice(-1500);
    const dfFull = execFileSync('df', ['-k', '--output=used,size', state]).toString().trim().split('\n')[1];
    assert.equal(paused, 1);
    assert.match(line, /ERROR Input paused: (Disk full: cannot write|InfluxDB sink 'influx' .* cannot write \(ENOSPC)/);
    assert.match(line, /MQTT messages stay unacknowledged at the broker/);
    assert.ok(receivedPaused < published, `the daemon took ${receivedPaused} of ${published} messages before pausing`);
    assert.equal(metricValue(before, 'anomalyd_messages_received_total'), receivedPaused, 'no message is taken while paused');
    assert.equal(readyz.status, 503);
    assert.match(readyBody, /storage/);

    // Space comes back (the tmpfs grows), then InfluxDB: everything published is scored and in InfluxDB.
    execFileSync('mount', ['-o', 'remount,size=16m', state]);
    await influx.up();
    const scored = await pollUntil('every message scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= published, 60_000);
    const countPoints = async (): Promise<number> => Number((await influx.query('SELECT count(score) FROM anomaly_score', 'anomalyd').catch(() => []))[0]?.values[0]?.[1] ?? 0);
    const points = await pollUntil('every score point in InfluxDB', countPoints, (n) => n >= published, 60_000);
    await pollUntil('input resumed', () => d.metric('anomalyd_ingestion_paused'), (v) => v === 0, 10_000);
    const text = await d.metricsText();
    const dropped = counterValue(text, 'anomalyd_sink_points_dropped_total', { sink: 'influx' });
    const readyAfter = (await fetch(`${d.base}/readyz`)).status;
    console.log(
      `[fault 8] disk full (256 KiB tmpfs for state, journal and spool; used/size KiB ${dfFull}), InfluxDB down: input paused after ${receivedPaused} of ${published} messages ` +
        `(the rest stayed unacknowledged at the broker; none taken in 3 s while paused); readyz ${readyz.status} while paused; after the disk grew and InfluxDB returned: ` +
        `${scored} windows scored, ${points} score points in InfluxDB for ${published} published, ${dropped} points dropped, readyz ${readyAfter}; message: ${line.slice(0, 320)}`,
    );
    assert.equal(scored, published);
    assert.equal(points, published, 'every published sample window is in InfluxDB');
    assert.equal(dropped, 0, 'nothing dropped');
    assert.equal(readyAfter, 200);
    assert.match(d.log, /Input resumed/);
    assert.equal((await d.stop()).code, 0);
  } finally {
    execFileSync('umount', ['-l', state]);
  }
});

test('model missing, corrupt or of the wrong shape: /readyz 503 saying why, nothing scored, no page', async () => {
  const dir = suite.dir;
  const receiver = suite.receiver;
  const corrupt = path.join(dir, 'model-corrupt');
  await cp(PUMP_MODEL, corrupt, { recursive: true });
  await writeFile(path.join(corrupt, 'model.json'), '{"modelTopology": {"class_name": "Seq');
  const truncated = path.join(dir, 'model-truncated');
  await cp(PUMP_MODEL, truncated, { recursive: true });
  await truncate(path.join(truncated, 'weights.bin'), 1000);
  const shape = path.join(dir, 'model-shape');
  await cp(PUMP_MODEL, shape, { recursive: true });
  await cp(path.join(PUMP_MODEL, '..', 'ecg', 'model.json'), path.join(shape, 'model.json'));
  await cp(path.join(PUMP_MODEL, '..', 'ecg', 'weights.bin'), path.join(shape, 'weights.bin'));
  const manifest = JSON.parse(await readFile(path.join(PUMP_MODEL, 'manifest.json'), 'utf8')) as { window: { size: number } };
  const cases = [
    { name: 'missing', model: path.join(dir, 'no-such-model'), why: /no-such-model|not found|ENOENT|missing/i },
    { name: 'corrupt', model: corrupt, why: /model\.json|JSON|parse/i },
    { name: 'truncated', model: truncated, why: /weights|bytes|shape|size/i },
    { name: 'shape', model: shape, why: /shape|input|units|size|does not match|architecture/i },
  ];
  const figures: string[] = [];
  for (const c of cases) {
    const d = await daemonWith(`model-${c.name}`, { modelPath: c.model, sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url} }` });
    await d.listening();
    const res = await fetch(`${d.base}/readyz`);
    const body = await res.text();
    const pub = await suite.publisher(`faults-model-${c.name}`);
    const faulty = pumpSamples(71, T0, 120).map((s) => ({ ts: s.ts, values: Float32Array.from(s.values, (v) => v * 4) }));
    await publishAll(pub, faulty.map((s) => ({ topic: topicOf('pump9'), payload: pumpPayload(s) })), 50);
    await pub.close();
    // The daemon took all 120 messages and has nothing left in its queues: only then does "nothing scored" say
    // anything (before, it would hold for a daemon that had not got to them yet).
    const received = await pollUntil('the 120 messages taken in', () => d.count('anomalyd_messages_received_total'), (v) => v >= 120, 20_000);
    await d.drained();
    const scored = await d.count('anomalyd_windows_scored_total');
    const stillReady = (await fetch(`${d.base}/readyz`)).status;
    figures.push(`${c.name}: readyz ${res.status} (${body.replace(/\s+/g, ' ').slice(0, 160)}), messages received ${received}, windows scored ${scored}, pages ${receiver.requests.length}, exit ${d.running ? 'running' : 'exited'}`);
    assert.equal(res.status, 503, `${c.name}: ${body}\n${d.log.slice(-2000)}`);
    assert.match(body, /pump/, `${c.name}: names the model`);
    assert.match(body + d.log, c.why, `${c.name}: says why`);
    assert.equal(stillReady, 503);
    assert.equal(scored, 0, `${c.name}: nothing scored`);
    assert.ok(!/\n\s+at .*\.js:\d+/.test(d.log), `${c.name}: no stack trace in the log`);
    await d.stop();
  }
  console.log(`[fault 9] window size ${manifest.window.size}; ${figures.join('; ')}`);
  assert.equal(receiver.requests.length, 0, `no alert fired: ${receiver.requests.map((r) => r.raw.slice(0, 400)).join('\n')}`);
});
