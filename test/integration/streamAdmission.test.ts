// Admission of streams against a real Mosquitto, a real webhook receiver and `anomalyd run`. The attack: 2,000
// messages on 1,500 made-up topics that match the subscription (1,000 under line1/, which its allow_streams
// admits, 500 elsewhere, which it does not), then a legitimate stream, then a restart. It used to fill
// limits.max_streams, refuse the legitimate stream, save the made-up ones to state.json and bind them again after
// a restart, and page IngestionStalled for each. Now: the allow list refuses the 500, the new-stream rate lets a
// few of the 1,000 in and refuses the rest, the few are evicted as never_windowed and never saved, none of them
// pages a stall, the legitimate stream is scored before and after the restart, and the one page is StreamsRefused.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite, metricValue, pollUntil, publishAll, simAssets, sleep, topicOf, type DaemonProcess } from '../helpers/faults';

const suite = faultSuite('admission', { receiver: true });
const PER_MINUTE = 30;
const MAX_STREAMS = 50;
const LEGIT = 'line1/pump1';

/** Resident memory of a process (kB), from /proc. */
async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]);
}

test('1,500 made-up topics, then a legitimate stream, then a restart: the stream is scored, one page, memory bounded, counters say what happened', async () => {
  const { receiver } = suite;
  const daemon = await suite.daemon(
    'admission',
    {
      // A 3 s silence pages a stall: a made-up stream that sent once is silent long before its 6 s eviction.
      alerting: 'k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 3000',
      sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url} }`,
      extra: `limits: { max_streams: ${MAX_STREAMS}, new_stream_idle_evict_ms: 6000, stream_idle_evict_ms: 86400000 }`,
    },
    (yaml) => yaml.replace('    decoder: json\n', `    decoder: json\n    allow_streams: ["line1/*"]\n    new_streams_per_minute: ${PER_MINUTE}\n`),
  );
  await daemon.ready();
  const rssBefore = await rssKb(daemon.pid);
  const pub = await suite.publisher('admission-publisher');
  const [template] = pumpSamples(1, 0, 1);
  const now = Date.now();

  // The attack: one message on each of 1,000 made-up line1/ topics, two on each of 500 made-up topics elsewhere.
  const attack: { topic: string; payload: string }[] = [];
  for (let i = 0; i < 1000; i++) attack.push({ topic: topicOf(`fake${i}`), payload: pumpPayload({ ts: now, values: template.values }) });
  for (let r = 0; r < 2; r++) for (let i = 0; i < 500; i++) attack.push({ topic: topicOf(`fake${i}`, 'evil'), payload: pumpPayload({ ts: now + r * 1000, values: template.values }) });
  await publishAll(pub, attack);
  const afterAttack = await pollUntil(
    'the 2,000 messages received and the 1,000 refusals of the allow list counted',
    () => daemon.metricsText(),
    (t) => metricValue(t, 'anomalyd_messages_received_total') >= 2000 && metricValue(t, 'anomalyd_messages_rejected_total', { reason: 'stream_not_allowed' }) >= 1000,
    30_000,
  );
  const rateRefused = metricValue(afterAttack, 'anomalyd_messages_rejected_total', { reason: 'stream_rate' });
  const admittedFakes = metricValue(afterAttack, 'anomalyd_streams_active');
  assert.equal(metricValue(afterAttack, 'anomalyd_messages_rejected_total', { reason: 'stream_not_allowed' }), 1000, 'every message of the 500 topics outside allow_streams');
  assert.equal(rateRefused + admittedFakes, 1000, `each line1/ message refused for the rate or admitted (${rateRefused} + ${admittedFakes})`);
  assert.ok(admittedFakes >= PER_MINUTE && admittedFakes < MAX_STREAMS, `the bucket let in its burst and a little refill: ${admittedFakes}`);
  assert.equal(metricValue(afterAttack, 'anomalyd_messages_rejected_total', { reason: 'stream_limit' }), 0, 'the limit was never reached');
  const rssAfter = await rssKb(daemon.pid);

  // The legitimate stream: the simulated pump the bundled model knows, one sample a second in its own time from
  // 100 s ago, sent ten a second until it reaches now, then in real time; kept sending (through the restart) so
  // that its own stall alert does not fire. Its first messages may find the bucket empty: a later one gets the
  // next token.
  let sending = true;
  const series = pumpSamples(simAssets('pump', 2, 3, 1)[0].seed, Math.floor(Date.now() / 1000) * 1000 - 100_000, 1000);
  const legit = (async () => {
    for (const sample of series) {
      if (!sending) return;
      while (sending && sample.ts > Date.now()) await sleep(100);
      await pub.publish(topicOf('pump1'), pumpPayload(sample), 1).catch(() => undefined);
      await sleep(100);
    }
  })();
  try {
    await pollUntil('the legitimate stream scored', () => daemon.metric('anomalyd_windows_scored_total'), (n) => n >= 1, 30_000);
    // The made-up streams let in go: evicted as never_windowed, 6 s after their one message.
    const evicted = await pollUntil(
      'the admitted made-up streams evicted',
      () => daemon.metricsText(),
      (t) => metricValue(t, 'anomalyd_streams_evicted_total', { reason: 'never_windowed' }) >= admittedFakes,
      30_000,
    );
    assert.equal(metricValue(evicted, 'anomalyd_streams_evicted_total', { reason: 'never_windowed' }), admittedFakes);
    assert.equal(metricValue(evicted, 'anomalyd_streams_evicted_total', { reason: 'idle' }), 0, 'the legitimate stream stays');
    assert.equal(metricValue(evicted, 'anomalyd_streams_active'), 1);

    // The restart: the legitimate stream is saved and restored, no made-up one is.
    await daemon.stop();
    const saved = JSON.parse(await readFile(path.join(suite.dir, 'admission', 'state.json'), 'utf8')) as { alerts: Record<string, unknown>; checks?: Record<string, unknown> };
    assert.deepEqual([...new Set([...Object.keys(saved.alerts), ...Object.keys(saved.checks ?? {})])], [LEGIT], 'only the legitimate stream is in state.json');
    const again: DaemonProcess = suite.restart(daemon);
    await again.ready();
    const scoredBefore = await again.metric('anomalyd_windows_scored_total');
    await pollUntil('the legitimate stream scored after the restart', () => again.metric('anomalyd_windows_scored_total'), (n) => n > scoredBefore, 30_000);
    const text = await again.metricsText();
    assert.equal(metricValue(text, 'anomalyd_streams_active'), 1, 'the restored legitimate stream, no made-up one');
    assert.equal(metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'stream_rate' }), 0, 'the restored stream needs no token');
  } finally {
    sending = false;
    await legit;
  }

  const firing = receiver.requests.filter((r) => r.body.status === 'firing').map((r) => r.body.alerts[0]?.labels['alertname']);
  assert.deepEqual(firing, ['StreamsRefused'], `one page, for all the refused streams: ${JSON.stringify(firing)}`);
  const page = receiver.requests.find((r) => r.body.status === 'firing');
  assert.match(page?.raw ?? '', /message\(s\) of new streams refused \(/, 'the page says how many and why');
  const grownMb = (rssAfter - rssBefore) / 1024;
  console.log(`RSS before the attack ${(rssBefore / 1024).toFixed(1)} MB, after ${(rssAfter / 1024).toFixed(1)} MB (+${grownMb.toFixed(1)} MB); admitted made-up streams ${admittedFakes}, refused for the rate ${rateRefused}`);
  assert.ok(grownMb < 64, `RSS grew ${grownMb.toFixed(1)} MB under the attack`);
});
