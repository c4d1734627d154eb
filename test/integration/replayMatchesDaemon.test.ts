// `anomalyd replay` is the daemon: one recording goes through `replay -c` (a CSV) and, by MQTT with the same
// payload timestamps, through a live daemon (real Mosquitto, a real HTTP webhook receiver), both on the same
// config and the bundled pump model; the alert episodes must be identical: start, end, severity, flapping, top
// channels (names and shares), for the anomaly alerts and the sensor-check and insufficient-data ones.
//
// The recording exercises what the old replay ignored: keep_firing_for_ms (an episode held past its calm
// windows), a third start within flap_period_ms (held as flapping, resolved after flap_quiet_ms), top_channels
// 2, a stuck sensor (flatline check) and a short gap (insufficient windows). A second stream gets the same
// samples with a `streams` entry of its own: the anomaly likelihood as score filter, other alerting settings. Every alert time is sample time
// (window end, or the sample for sensor checks): the alert state machine never reads a clock. The one
// wall-clock alert, IngestionStalled, is left at its default (5 min of silence), which the test never reaches;
// it has no replay counterpart (replay has no wall clock).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS, pumpPayload } from '../../src/simulator/signals';
import { runCli, type CliRun } from '../helpers/cli';
import { faultSuite, pollUntil, publishAll, pumpSeries, simAssets, type DaemonProcess } from '../helpers/faults';

const T0 = Date.parse('2026-03-01T06:00:00Z');
const COUNT = 900;
/** pressure_bar: the channel held stuck. */
const STUCK = 5;
const STREAM = 'line1/pump1';
/** Same samples, its own settings (a `streams` entry): the likelihood filter, k of 1, three top channels. */
const FILTERED = 'line1/pump2';
const FILTERED_ENTRY = `streams:
  - id: ${FILTERED}
    calibration: { likelihood: { enabled: true, learning_windows: 20, history_windows: 100, average_windows: 2, suppress_windows: 5 } }
    alerting: { k: 1, n: 1, top_channels: 3 }`;
const ALERTING = [
  'k: 2, n: 4, reset_windows: 2, keep_firing_for_ms: 60000, top_channels: 2',
  'flap_max_starts: 2, flap_period_ms: 600000, flap_quiet_ms: 45000',
  'flatline_samples: 20, insufficient_windows: 2',
].join(', ');

const suite = faultSuite('replaymatch', { receiver: true });

/**
 * 15 min of pump samples 1 s apart: three faults (every value x4) whose third start falls within the flap
 * period, a stuck pressure sensor, and 6 missing samples (windows over the gap are 80 % complete, below 0.9).
 */
function recording(): Sample[] {
  const seed = simAssets('pump', 2, 3, 1)[0].seed;
  const base = pumpSeries(seed, T0, COUNT, [[200, 260], [400, 420], [520, 545]]);
  const held = base[650].values[STUCK];
  return base
    .map((s, i) => (i >= 650 && i < 700 ? { ts: s.ts, values: Float64Array.from(s.values, (v, c) => (c === STUCK ? held : v)) } : s))
    .filter((_, i) => i < 780 || i >= 786);
}

/** The CSV of exactly what the payloads carry (their rounding to 4 decimals, their millisecond times). */
function csvOf(payloads: readonly string[]): string {
  const lines = [['timestamp', ...PUMP_CHANNELS].join(',')];
  for (const p of payloads) {
    const doc = JSON.parse(p) as Record<string, number>;
    lines.push([new Date(doc['ts']).toISOString(), ...PUMP_CHANNELS.map((c) => String(doc[c]))].join(','));
  }
  return lines.join('\n') + '\n';
}

interface Episode {
  alertname: string;
  start: string;
  end: string | null;
  severity: string;
  flapping: boolean;
  /** channel:share (4 decimals) for anomalies, channel names for sensor checks. */
  channels: string[];
}

interface ReplayJson {
  score_filter: string;
  windows: number;
  anomalous_windows: number;
  alerts: { start: string; end: string | null; severity: string; flapping: boolean; top_channels: { channel: string; share: number }[] }[];
  other_alerts: { alertname: string; start: string; end: string | null; severity: string; channels: string[] }[];
  warnings: string[];
}

interface HookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  sequence: number;
  top_channels: { channel: string; share: number }[];
}

const share = (s: number): string => (Math.round(s * 1e4) / 1e4).toString();

function replayEpisodes(r: ReplayJson): Episode[] {
  return [
    ...r.alerts.map((a) => ({
      alertname: 'AnomalyDetected',
      start: a.start,
      end: a.end,
      severity: a.severity,
      flapping: a.flapping,
      channels: a.top_channels.map((c) => `${c.channel}:${share(c.share)}`),
    })),
    ...r.other_alerts.map((a) => ({ alertname: a.alertname, start: a.start, end: a.end, severity: a.severity, flapping: false, channels: a.channels })),
  ].sort(byStart);
}

/** Episodes as a webhook receiver puts them together: first firing, escalations, resolve; in sequence order. */
function daemonEpisodes(alerts: readonly HookAlert[]): Episode[] {
  const open = new Map<string, Episode>();
  const done: Episode[] = [];
  for (const a of [...alerts].sort((x, y) => x.sequence - y.sequence)) {
    const alertname = a.labels['alertname'] ?? '';
    const e = open.get(a.fingerprint);
    if (a.status === 'firing' && !e) {
      const anomaly = alertname === 'AnomalyDetected';
      open.set(a.fingerprint, {
        alertname,
        start: a.startsAt,
        end: null,
        severity: a.labels['severity'] ?? '',
        flapping: a.labels['flapping'] === 'true',
        channels: a.top_channels.map((c) => (anomaly ? `${c.channel}:${share(c.share)}` : c.channel)),
      });
    } else if (a.status === 'firing' && e) {
      if (a.labels['severity'] === 'critical') e.severity = 'critical';
      e.flapping ||= a.labels['flapping'] === 'true';
    } else if (e) {
      open.delete(a.fingerprint);
      done.push({ ...e, end: a.endsAt });
    }
  }
  return [...done, ...open.values()].sort(byStart);
}

function byStart(a: Episode, b: Episode): number {
  return a.start.localeCompare(b.start) || a.alertname.localeCompare(b.alertname);
}

function replay(args: string[], cwd: string): Promise<CliRun> {
  return runCli(cwd, ['replay', ...args]);
}

async function stopped(d: DaemonProcess): Promise<void> {
  const exit = await d.stop();
  assert.equal(exit.code, 0, `the daemon stopped cleanly:\n${d.log.slice(-3000)}`);
}

test('replay -c and the live daemon raise identical alert episodes from the same samples', async () => {
  const samples = recording();
  const payloads = samples.map((s) => pumpPayload(s));
  const csv = path.join(suite.dir, 'pump1.csv');
  await writeFile(csv, csvOf(payloads));

  const hooks = `  webhooks:\n    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`;
  // The model's window (30/5), alerting as above, the default stall check (wall clock, 5 min).
  // The samples are history (a fixed date, for figures that do not move): no age limit for them.
  const backfill = (yaml: string): string => yaml.replace('    decoder: json\n', '    decoder: json\n    timestamp: { max_age_ms: 0 }\n');
  const d = await suite.daemon('live', { hop: 5, alerting: `${ALERTING}, stall_after_ms: 300000`, sinks: hooks, extra: FILTERED_ENTRY }, backfill);
  await d.ready();

  const offline = new Map<string, ReplayJson>();
  for (const stream of [STREAM, FILTERED]) {
    const r = await replay(['-c', 'live.yaml', '--stream', stream, '--input', csv, '--json'], suite.dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ReplayJson;
    assert.deepEqual(out.warnings, [], 'the config fits the model');
    offline.set(stream, out);
  }
  const windows = [...offline.values()].reduce((n, o) => n + o.windows, 0);
  const anomalous = [...offline.values()].reduce((n, o) => n + o.anomalous_windows, 0);

  const pub = await suite.publisher('replaymatch');
  for (const stream of [STREAM, FILTERED]) await publishAll(pub, payloads.map((payload) => ({ topic: `plant/${stream}/telemetry`, payload })), 20);
  // Every window scored, then a graceful stop: the webhook outbox is delivered before the exit.
  await pollUntil('every window scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= windows, 30_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${d.log.slice(-3000)}`);
  });
  assert.equal(await d.metric('anomalyd_windows_scored_total'), windows, 'the same windows scored');
  assert.equal(await d.metric('anomalyd_anomalous_windows_total'), anomalous, 'the same windows anomalous');
  await stopped(d);

  const alerts = suite.receiver.delivered().flatMap((h) => (JSON.parse(h.raw) as { alerts: HookAlert[] }).alerts);
  const episodes = (stream: string): { live: Episode[]; expected: Episode[] } => {
    const expected = replayEpisodes(offline.get(stream) as ReplayJson);
    console.log(`${stream}: ${expected.length} episodes\n${expected.map((e) => `  ${e.alertname} ${e.start} -> ${e.end ?? 'open'} ${e.severity}${e.flapping ? ' flapping' : ''} [${e.channels.join(' ')}]`).join('\n')}`);
    return { live: daemonEpisodes(alerts.filter((a) => a.labels['stream'] === stream)), expected };
  };
  const { live, expected } = episodes(STREAM);

  // The recording raises every kind of episode it was built for, so the comparison covers them.
  const anomalies = expected.filter((e) => e.alertname === 'AnomalyDetected');
  assert.equal(anomalies.length, 3, 'one episode a fault');
  assert.ok(anomalies.some((e) => e.flapping), 'the third start within the flap period is held as flapping');
  assert.ok(anomalies.every((e) => e.channels.length === 2), 'top_channels: 2');
  const first = anomalies[0];
  assert.ok(first.end !== null && Date.parse(first.end) - Date.parse(first.start) >= 60_000, 'keep_firing_for_ms holds the first episode for 60 s of sample time');
  assert.ok(expected.some((e) => e.alertname === 'SensorFlatline' && e.channels.includes(PUMP_CHANNELS[STUCK])), 'the stuck sensor');
  assert.ok(expected.some((e) => e.alertname === 'InsufficientData'), 'the gap');

  assert.deepEqual(live, expected);

  const filtered = episodes(FILTERED);
  assert.equal(offline.get(FILTERED)?.score_filter, 'likelihood');
  const filteredAnomalies = filtered.expected.filter((e) => e.alertname === 'AnomalyDetected');
  assert.ok(filteredAnomalies.length >= 1 && filteredAnomalies.every((e) => e.channels.length === 3), 'its own settings: the likelihood alerts, three top channels');
  assert.deepEqual(filtered.live, filtered.expected);
});
