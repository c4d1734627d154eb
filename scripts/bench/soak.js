#!/usr/bin/env node
// Soak benchmark (issue 5): the daemon under twice the nominal load for minutes, with a fault every minute, and
// what it leaks or loses. Not part of `npm test`; `npm run bench:soak -- [--minutes N] [--json]`.
//
// Nominal load: 100 pumps at 10 Hz (config/plant.example.yaml pumps, 8 channels, json payloads), 1,000 msg/s.
// The soak publishes twice that: 100 pumps x 20 msg/s = 2,000 msg/s QoS 1, one sample a message, sample i of a
// pump stamped T0 + i s (the bundled pump model's 1 s period), window 30 / hop 10. Pumps p0..p4 turn anomalous
// for 60 samples in every 300 (3 s of every 15 s), so alerts fire and resolve all the time and webhooks flow
// (every 20 s webhook fault meets at least one firing and one resolve).
//
// Faults, one a minute in turn: Mosquitto restart (SIGTERM, persistence on, same port: the daemon's persistent
// session resumes; the publisher pauses while the broker is down and waits for its acknowledgements, so the
// sequence it reports is exact), InfluxDB down for 20 s (a stand-in on the same port that refuses connections;
// it records every point, so a rewrite is not counted twice), webhook receiver answering 500 for 20 s, SIGHUP.
//
// Figures: RSS growth per hour (least-squares line over the samples after the first minute), open fds (first and
// last), event-loop lag p99 (anomalyd_nodejs_eventloop_lag_p99_seconds, prom-client's default metrics; max and
// median over the scrapes), messages lost (per pump, the windows its published sequence makes, 30-sample
// windows every 10 samples from sample 0, against the distinct windows the InfluxDB stand-in received),
// webhook notices (distinct idempotency keys, and how many were re-sent with the same key after a 500).
// Exit 1 when RSS grows faster than --max-growth-mb-h (default 30 MB/h), open fds grow by more than 50, or any
// window is missing.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const lib = require('./lib');

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    pumps: { type: 'string', default: '100' },
    'rate-hz': { type: 'string', default: '20' },
    'max-growth-mb-h': { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const PUMPS = Number(args.pumps);
const RATE = Number(args['rate-hz']);
const MAX_GROWTH = Number(args['max-growth-mb-h']);
const SIZE = 30;
const HOP = 10;
const FAULT_MS = 20_000;

const sim = require(path.join(lib.ROOT, 'dist', 'simulator', 'signals.js'));
const mqtt = require('mqtt');
const SEEDS = sim.simAssets('pump', 2, 3, 1).map((a) => a.seed);
const T0 = Math.floor((Date.now() - 24 * 3600_000) / 1000) * 1000;
const { log, sleep } = lib;

/** Mosquitto with persistence, restartable on the same port. */
async function startBroker() {
  const port = await lib.freePort();
  const dir = lib.tempDir('soak-mosquitto');
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_inflight_messages 1000',
      'max_queued_messages 5000000', 'max_queued_bytes 0', ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'),
  );
  let child = null;
  const launch = async () => {
    child = lib.track(spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise((r) => {
        const s = require('node:net').connect({ host: '127.0.0.1', port });
        s.once('connect', () => (s.destroy(), r(true)));
        s.once('error', () => r(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error('mosquitto did not start');
      await sleep(50);
    }
  };
  await launch();
  return { url: `mqtt://127.0.0.1:${port}`, restart: async () => (await lib.stopChild(child), await launch()), stop: () => lib.stopChild(child) };
}

/** An InfluxDB 1.x stand-in recording distinct (stream, time) score points; down() refuses connections. */
async function startInflux() {
  const seen = new Map();
  let server = null;
  const port = await lib.freePort();
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/ping') return res.writeHead(204).end();
    if (url.pathname === '/query') return req.resume(), res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
    if (url.pathname !== '/write') return res.writeHead(404).end();
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        if (!line.startsWith('anomaly_score,')) continue;
        const stream = /,stream=([^, ]+)/.exec(line)?.[1];
        const time = line.slice(line.lastIndexOf(' ') + 1);
        if (!stream) continue;
        let s = seen.get(stream);
        if (!s) seen.set(stream, (s = new Set()));
        s.add(time);
      }
      res.writeHead(204).end();
    });
    return undefined;
  };
  const up = () => new Promise((r) => {
    server = http.createServer(handler);
    server.listen(port, '127.0.0.1', r);
  });
  const down = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  await up();
  return { url: `http://127.0.0.1:${port}/anomalyd`, seen, up, down };
}

/** Webhook receiver with a switchable answer; records attempts per idempotency key. */
async function startReceiver() {
  const attempts = new Map();
  const delivered = new Set();
  let status = 200;
  let refused = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      if (status < 300) delivered.add(key);
      else refused++;
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/hook`, attempts, delivered, refused: () => refused, setStatus: (s) => (status = s), close: () => new Promise((r) => srv.close(() => r())) };
}

function config(dir, broker, influx, receiver, httpPort) {
  const file = path.join(dir, 'soak.yaml');
  fs.writeFileSync(
    file,
    [
      'log: { level: warn, format: json }',
      `http: { host: 127.0.0.1, port: ${httpPort} }`,
      `state_dir: ${JSON.stringify(path.join(dir, 'var'))}`,
      `mqtt: { url: "${broker.url}", client_id: anomalyd-soak, clean_session: false, qos: 1, embedded_broker: "off", reconnect: { min_delay_ms: 200, max_delay_ms: 2000, jitter: 0.2 } }`,
      `models: { pump: { path: ${JSON.stringify(path.join(lib.ROOT, 'models', 'pump'))} } }`,
      'defaults:',
      `  window: { size: ${SIZE}, hop: ${HOP}, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }`,
      // Flap detection off: the pumps' fault every 15 s would otherwise be held as flapping and stop paging.
      '  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 0, flap_max_starts: 0 }',
      'subscriptions:',
      '  - topic: plant/+/+/telemetry',
      '    template: plant/{line}/{asset}/telemetry',
      '    stream: "{line}/{asset}"',
      '    decoder: json',
      '    timestamp: { source: payload, field: ts, unit: ms }',
      '    model: pump',
      `    channels: [${lib.PUMP_CHANNELS.join(', ')}]`,
      'sinks:',
      `  influx: { url: "${influx.url}", flush_interval_ms: 1000 }`,
      '  webhooks:',
      `    - { name: soak, url: "${receiver.url}", retry_base_ms: 200, retry_max_delay_ms: 2000 }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Pump p publishes its samples in order; counts what the broker acknowledged. */
function startPublisher(broker) {
  const client = mqtt.connect(broker.url, { clientId: 'soak-publisher', clean: false, reconnectPeriod: 200 });
  const next = new Array(PUMPS).fill(0);
  const acked = new Array(PUMPS).fill(0);
  // One continuous signal per seed, long enough for the whole run (pumps sharing a seed share the signal).
  const length = Math.ceil(RATE * 60 * (MINUTES + 1)) + SIZE;
  const series = SEEDS.map((seed) => sim.pumpSamples(seed, T0, length));
  let inflight = 0;
  let paused = false;
  const sample = (p, i) => {
    const s = series[p % SEEDS.length][i];
    const anomalous = p < 5 && i % 300 >= 150 && i % 300 < 210;
    return anomalous ? { ts: s.ts, values: Float32Array.from(s.values, (v) => v * 4) } : s;
  };
  const tick = () => {
    if (paused || !client.connected) return;
    for (let p = 0; p < PUMPS; p++) {
      const i = next[p]++;
      inflight++;
      client.publish(`plant/l1/p${p}/telemetry`, sim.pumpPayload(sample(p, i)), { qos: 1 }, (err) => {
        inflight--;
        if (err) log(`publish error p${p} #${i}: ${err.message}`);
        else acked[p]++;
      });
    }
  };
  const timer = setInterval(tick, 1000 / RATE);
  return {
    published: () => next.reduce((a, b) => a + b, 0),
    next,
    acked,
    async pause() {
      paused = true;
      while (inflight > 0) await sleep(20);
    },
    async resume() {
      while (!client.connected) await sleep(50);
      paused = false;
    },
    async stop() {
      clearInterval(timer);
      paused = true;
      while (inflight > 0) await sleep(20);
      await new Promise((r) => client.end(false, {}, r));
    },
  };
}

function linearSlope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

async function main() {
  const dir = lib.tempDir('soak');
  const [broker, influx, receiver] = await Promise.all([startBroker(), startInflux(), startReceiver()]);
  const httpPort = await lib.freePort();
  const daemon = await lib.startDaemon(config(dir, broker, influx, receiver, httpPort), httpPort, { verbose: args.verbose });
  const pub = startPublisher(broker);
  log(`soak: ${PUMPS} pumps x ${RATE} msg/s = ${PUMPS * RATE} msg/s (2x nominal 100 x 10 Hz) for ${MINUTES} min, a fault every minute`);

  const t0 = Date.now();
  const rss = [];
  const lags = [];
  const fds = [];
  const faults = [];
  const faultKinds = ['broker restart', 'InfluxDB down 20 s', 'webhook 500 for 20 s', 'SIGHUP'];
  let nextFault = 60_000;
  let k = 0;
  const end = t0 + MINUTES * 60_000;
  while (Date.now() < end) {
    const at = Date.now() - t0;
    rss.push([at / 3_600_000, lib.procStatus(daemon.pid).rss_mb]);
    fds.push(fdCount(daemon.pid));
    const m = await daemon.metrics().catch(() => ({}));
    if (Number.isFinite(m.anomalyd_nodejs_eventloop_lag_p99_seconds)) lags.push(m.anomalyd_nodejs_eventloop_lag_p99_seconds * 1000);
    if (at >= nextFault && Date.now() + 25_000 < end) {
      const kind = faultKinds[k++ % faultKinds.length];
      nextFault += 60_000;
      log(`soak: ${(at / 60_000).toFixed(1)} min: ${kind}`);
      faults.push({ at_s: Math.round(at / 1000), kind });
      if (kind === 'broker restart') {
        await pub.pause();
        await broker.restart();
        await pub.resume();
      } else if (kind === 'InfluxDB down 20 s') {
        await influx.down();
        setTimeout(() => void influx.up(), FAULT_MS);
      } else if (kind === 'webhook 500 for 20 s') {
        receiver.setStatus(500);
        setTimeout(() => receiver.setStatus(200), FAULT_MS);
      } else {
        daemon.child.kill('SIGHUP');
      }
    }
    await sleep(5000);
  }
  await pub.stop();
  // Drain: every window the published sequences make, or 120 s.
  const expected = pub.next.map((n) => (n >= SIZE ? Math.floor((n - SIZE) / HOP) + 1 : 0));
  const found = () => pub.next.map((_, p) => influx.seen.get(`l1/p${p}`)?.size ?? 0);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && found().some((f, p) => f < expected[p])) await sleep(1000);
  const f = found();
  const missing = expected.reduce((n, e, p) => n + Math.max(0, e - f[p]), 0);
  const extra = expected.reduce((n, e, p) => n + Math.max(0, f[p] - e), 0);
  const published = pub.published();
  const acked = pub.acked.reduce((a, b) => a + b, 0);
  const metrics = await daemon.metrics();
  // The slope is fitted after warm-up: V8 grows its heap for minutes before it settles, and a fit over that
  // reads as a leak. Warm-up = the first quarter of the run, at least one minute (half of a run under 2 min).
  const warmUpMin = MINUTES < 2 ? MINUTES / 2 : Math.max(1, MINUTES / 4);
  const warm = rss.filter(([h]) => h * 60 >= warmUpMin);
  const growth = linearSlope(warm);
  const sortedLags = [...lags].sort((a, b) => a - b);
  const resent = [...receiver.attempts.values()].filter((n) => n > 1).length;
  const result = {
    minutes: MINUTES,
    rate_msg_s: PUMPS * RATE,
    published,
    acknowledged_by_broker: acked,
    received_by_daemon: metrics.anomalyd_messages_received_total,
    windows_expected: expected.reduce((a, b) => a + b, 0),
    windows_in_influx: f.reduce((a, b) => a + b, 0),
    windows_missing: missing,
    windows_off_grid: extra,
    rss_mb_first: lib.round(rss[0]?.[1]),
    rss_mb_last: lib.round(rss.at(-1)?.[1]),
    rss_growth_mb_per_h: lib.round(growth),
    fds_first: fds[0],
    fds_last: fds.at(-1),
    fds_max: Math.max(...fds),
    eventloop_lag_p99_ms_max: lib.round(sortedLags.at(-1)),
    eventloop_lag_p99_ms_median: lib.round(lib.percentile(sortedLags, 50)),
    webhook_keys: receiver.attempts.size,
    webhook_keys_delivered: receiver.delivered.size,
    webhook_attempts_refused_500: receiver.refused(),
    webhook_keys_resent_same_key: resent,
    dropped_points: metrics.anomalyd_sink_points_dropped_total ?? 0,
    faults,
  };
  const failures = [];
  if (!(growth <= MAX_GROWTH)) failures.push(`RSS grows ${lib.round(growth)} MB/h > ${MAX_GROWTH}`);
  if (result.fds_last - result.fds_first > 50) failures.push(`open fds grew from ${result.fds_first} to ${result.fds_last}`);
  if (missing > 0) failures.push(`${missing} windows missing`);
  if (receiver.delivered.size < receiver.attempts.size) failures.push(`${receiver.attempts.size - receiver.delivered.size} webhook notices never delivered`);
  result.failures = failures;
  lib.table('soak', Object.entries(result).filter(([key]) => key !== 'faults' && key !== 'failures'));
  log(`faults: ${faults.map((x) => `${x.at_s}s ${x.kind}`).join(', ')}`);
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  await daemon.stop();
  await broker.stop();
  await receiver.close();
  await influx.down();
  await lib.cleanup();
  if (failures.length > 0) {
    log(`soak FAILED: ${failures.join('; ')}`);
    process.exit(1);
  }
  log('soak passed');
  process.exit(0);
}

main().catch(async (err) => {
  log(`soak: ${err.stack ?? err}`);
  await lib.cleanup();
  process.exit(2);
});
