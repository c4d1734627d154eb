// What an operator sees (issue 12): a real daemon on a real Mosquitto lists a stream from its first samples, with
// how full its first window is and when it will be scored (JSON and page); an alert that fired and resolved stays
// in the episode history, also after a restart (state_dir/alert-history.json); http.external_url is the base of
// the webhook's externalURL and generatorURL and of the page's links.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, publishAll, pumpSeries, simAssets, topicOf, type DaemonProcess } from '../helpers/faults';

const T0 = Math.floor((Date.now() - 3 * 3600_000) / 1000) * 1000;
const EXTERNAL = 'https://plant.example/anomalyd/';

const suite = faultSuite('status-history', { receiver: true });

interface StreamsBody {
  streams: { stream: string; state: string; window?: { samples: number; size: number; next_window_at: string | null; model_ready: boolean } }[];
}
interface AlertsBody {
  firing: { stream: string }[];
  episodes: { stream: string; alertname: string; severity: string; startsAt: string; endsAt: string | null; peak_score: number | null; threshold: number | null; top_channels: { channel: string; share: number }[] }[];
}

const json = async <T>(d: DaemonProcess, p: string): Promise<T> => (await fetch(`${d.base}${p}`)).json() as Promise<T>;

test('a stream shows from its first sample with its window fill; an alert episode survives a restart; external_url is used', async () => {
  const { receiver } = suite;
  const withExternal = (yaml: string): string => yaml.replace(/^http: \{ (.*) \}$/m, `http: { $1, external_url: "${EXTERNAL}" }`);
  const daemon = await suite.daemon('status', { sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url} }` }, withExternal);
  await daemon.ready();
  const pub = await suite.publisher('status-history-publisher');
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const send = (asset: string, samples: ReturnType<typeof pumpSeries>): Promise<void> =>
    publishAll(pub, samples.map((s) => ({ topic: topicOf(asset), payload: pumpPayload(s) })), 50);

  // 12 samples of a 30-sample window: no score yet, but the stream is listed with its fill.
  await send('pump1', pumpSeries(seeds[0], T0, 12));
  const streams = await pollUntil('line1/pump1 on /api/v1/streams', () => json<StreamsBody>(daemon, '/api/v1/streams'), (b) => b.streams.some((s) => s.stream === 'line1/pump1' && s.window?.samples === 12));
  const pump1 = streams.streams.find((s) => s.stream === 'line1/pump1');
  assert.equal(pump1?.state, 'filling');
  assert.equal(pump1?.window?.size, 30);
  assert.equal(pump1?.window?.model_ready, true);
  // 18 steps to go at the configured 1 s period, counted from the last sample's arrival.
  const eta = Date.parse(pump1?.window?.next_window_at ?? '') - Date.now();
  assert.ok(eta > 0 && eta <= 18_000, `first score expected within 18 s (${eta} ms)`);
  const page = await (await fetch(`${daemon.base}/`)).text();
  assert.match(page, /<h2>Streams \(1\)<\/h2>/);
  assert.match(page, /12\/30 samples, first score in ~\d+s/);
  assert.match(page, /<a href="https:\/\/plant.example\/anomalyd\/metrics">/);

  // A fault on pump2 that fires and resolves.
  await send('pump2', pumpSeries(seeds[1], T0, 400, [[100, 200]]));
  const before = await pollUntil('the resolved episode of pump2', () => json<AlertsBody>(daemon, '/api/v1/alerts'), (b) => b.episodes.some((e) => e.stream === 'line1/pump2' && e.endsAt !== null), 30_000);
  const episode = before.episodes.find((e) => e.stream === 'line1/pump2');
  assert.equal(episode?.alertname, 'AnomalyDetected');
  assert.ok(episode && episode.peak_score !== null && episode.threshold !== null && episode.peak_score > episode.threshold, JSON.stringify(episode));
  assert.ok((episode?.top_channels.length ?? 0) > 0);
  assert.ok(Date.parse(episode?.startsAt ?? '') >= T0 + 100_000, 'starts within the fault');
  assert.ok(Date.parse(episode?.endsAt ?? '') > Date.parse(episode?.startsAt ?? ''));

  // The webhook points where operators reach the daemon.
  await pollUntil('the firing page', () => Promise.resolve(receiver.delivered().length), (n) => n >= 1);
  const hook = JSON.parse(receiver.delivered()[0].raw) as { externalURL: string; alerts: { generatorURL: string }[] };
  assert.equal(hook.externalURL, EXTERNAL);
  assert.equal(hook.alerts[0].generatorURL, 'https://plant.example/anomalyd/?stream=line1%2Fpump2');

  // A restart keeps the history.
  const stopped = await daemon.stop();
  assert.equal(stopped.code, 0, daemon.log.slice(-2000));
  const saved = JSON.parse(await readFile(path.join(suite.dir, 'status', 'alert-history.json'), 'utf8')) as { episodes: unknown[] };
  assert.equal(saved.episodes.length, before.episodes.length);
  const again = suite.restart(daemon);
  await again.ready();
  const after = await json<AlertsBody>(again, '/api/v1/alerts');
  assert.deepEqual(after.episodes, before.episodes);
  const html = await (await fetch(`${again.base}/`)).text();
  assert.match(html, /<table id="episodes">.*line1\/pump2.*AnomalyDetected/s);
});
