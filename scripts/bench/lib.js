// Shared pieces of the benchmark: a real Mosquitto with raised queue limits, child processes that are always
// cleaned up, the daemon's config, /metrics scraping, RSS, an HTTP webhook receiver and an InfluxDB stand-in,
// statistics and tables. Everything listens on 127.0.0.1 only; every wait has a deadline.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MOSQUITTO = '/usr/sbin/mosquitto';

const log = (...parts) => process.stderr.write(parts.join(' ') + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Every child and temp dir of this run lives under one run dir (anomalyd-bench-run-*) holding the owner's pid
 * and the children's pids. cleanup() ends them (also on exit and on SIGINT/SIGTERM); a run killed outright
 * (SIGKILL) is cleaned up by the next one: its children whose command line names its run dir are ended by pid
 * (node children also exit by themselves when their parent is gone).
 */
const children = new Set();
let runDir = null;

function runRoot() {
  if (!runDir) {
    reapStale();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anomalyd-bench-run-'));
    fs.writeFileSync(path.join(runDir, 'owner.pid'), String(process.pid));
  }
  return runDir;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function reapStale() {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith('anomalyd-bench-run-')) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      /* unreadable: treat as stale */
    }
    if (Number.isInteger(owner) && alive(owner)) continue;
    let pids = [];
    try {
      pids = fs.readFileSync(path.join(dir, 'children.pid'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      /* none */
    }
    for (const pid of pids) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(runRoot(), `${prefix}-`));
}

function track(child) {
  children.add(child);
  if (child.pid) fs.appendFileSync(path.join(runRoot(), 'children.pid'), `${child.pid}\n`);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function cleanupSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  runDir = null;
}

async function cleanup() {
  await Promise.all([...children].map((c) => stopChild(c, 3000)));
  cleanupSync();
}

process.once('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    cleanupSync();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port, timeoutMs = 200) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** apt-get install when root and the file is missing; returns whether `file` exists afterwards. */
function ensureDebian(file, packages) {
  if (fs.existsSync(file)) return true;
  if (process.env.ANOMALYD_BENCH_NO_INSTALL === '1') {
    log(`bench: ${file} is missing (not installing: --no-install)`);
    return false;
  }
  if (process.getuid?.() !== 0) {
    log(`bench: ${file} is missing and this is not root; install ${packages.join(' ')} with apt-get`);
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    log(`bench: installing ${packages.join(' ')} with apt-get ...`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 2, 2], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: ['ignore', 2, 2], env });
  } catch (err) {
    log(`bench: apt-get failed: ${err.message}`);
  }
  return fs.existsSync(file);
}

/**
 * Mosquitto on a free loopback port with limits that never drop a QoS 1 message in these runs: a deep queue
 * per client (max_queued_messages, no byte cap) and a wide in-flight window (max_inflight_messages), and QoS 0
 * messages queued like QoS 1 ones for a client that is behind. No persistence: every phase starts clean.
 */
async function startMosquitto({ inflight = 1000, queued = 5_000_000 } = {}) {
  if (!ensureDebian(MOSQUITTO, ['mosquitto'])) throw new Error('mosquitto is not installed');
  const port = await freePort();
  const dir = tempDir('mosquitto');
  const conf = path.join(dir, 'mosquitto.conf');
  const logFile = path.join(dir, 'mosquitto.log');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      `max_inflight_messages ${inflight}`,
      `max_queued_messages ${queued}`,
      'max_queued_bytes 0',
      'queue_qos0_messages true',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  const child = track(spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr}`);
    await sleep(50);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    stop: () => stopChild(child),
  };
}

/**
 * A node child whose stdout carries JSON lines: `on(type, fn)` gets each parsed line by its `type` field;
 * stderr goes to ours when `verbose`, else is kept for error messages.
 */
function spawnNodeJson(script, args, { verbose = false, env = {}, cpus } = {}) {
  const [cmd, cmdArgs] = cpus ? ['taskset', ['-c', cpus, process.execPath, script, ...args]] : [process.execPath, [script, ...args]];
  const child = track(spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  const handlers = new Map();
  let buf = '';
  let err = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      for (const fn of handlers.get(msg.type) ?? []) fn(msg);
    }
  });
  child.stderr.on('data', (d) => {
    if (verbose) process.stderr.write(d);
    err = (err + d).slice(-4000);
  });
  const on = (type, fn) => {
    if (!handlers.has(type)) handlers.set(type, []);
    handlers.get(type).push(fn);
  };
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      let timer;
      const onExit = (code) => {
        clearTimeout(timer);
        reject(new Error(`${path.basename(script)} exited (${code}) before '${type}': ${err}`));
      };
      timer = setTimeout(() => {
        child.off('exit', onExit);
        reject(new Error(`${path.basename(script)}: no '${type}' within ${timeoutMs} ms: ${err}`));
      }, timeoutMs);
      child.once('exit', onExit);
      on(type, (m) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(m);
      });
    });
  return { child, on, next, stderr: () => err, stop: (g) => stopChild(child, g) };
}

/** Runs a command to completion (bounded), returning stdout; stderr is passed through when `verbose`. */
function runCapture(cmd, args, { timeoutMs, verbose = false, env = {} }) {
  return new Promise((resolve) => {
    const child = track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      if (verbose) process.stderr.write(d);
      err = (err + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

// ---- the daemon ----

const PUMP_CHANNELS = ['vib_x_rms', 'vib_y_rms', 'vib_z_rms', 'motor_current_a', 'voltage_v', 'pressure_bar', 'flow_m3h', 'temperature_c'];

/**
 * A plant config (as config/plant.example.yaml) for the bundled pump model: payload timestamps, QoS `qos`,
 * the webhook and InfluxDB sinks at the given URLs, metrics on `httpPort`, and the product's default queues and
 * batching unless overridden.
 */
/** The admin token of bench daemons started with `retrain` (the latency-during-retrain case starts retrains). */
const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

function daemonConfig({ dir, mqttUrl, clientId, httpPort, qos = 1, webhookUrl, influxUrl, k = 3, n = 5, maxStreams = 1000, logLevel = 'warn', batching, retrain = false, mqttOut = false }) {
  const lines = [
    `log: { level: ${logLevel}, format: json }`,
    `http: { host: 127.0.0.1, port: ${httpPort}${retrain ? `, admin_token: ${BENCH_ADMIN_TOKEN}` : ''} }`,
    `state_dir: ${JSON.stringify(path.join(dir, 'var'))}`,
    `mqtt: { url: "${mqttUrl}", client_id: ${clientId}, clean_session: false, qos: ${qos}, embedded_broker: "off", max_payload_bytes: 65536 }`,
    `models: { pump: { path: ${JSON.stringify(path.join(ROOT, 'models', 'pump'))} } }`,
    'defaults:',
    '  window: { size: 30, hop: 5, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }',
    `  alerting: { k: ${k}, n: ${n}, reset_windows: 5, keep_firing_for_ms: 60000 }`,
    'subscriptions:',
    '  - topic: plant/+/+/telemetry',
    '    template: plant/{line}/{asset}/telemetry',
    '    stream: "{line}/{asset}"',
    '    decoder: json',
    // The publisher replays simulated days after the model's training recordings (a fixed date): no age limit.
    '    timestamp: { source: payload, field: ts, unit: ms, max_age_ms: 0 }',
    '    model: pump',
    `    channels: [${PUMP_CHANNELS.join(', ')}]`,
    'sinks:',
    ...(influxUrl ? [`  influx: { url: "${influxUrl}", batch_size: 5000, flush_interval_ms: 1000 }`] : []),
    ...(webhookUrl ? ['  webhooks:', `    - { name: bench, url: "${webhookUrl}", timeout_ms: 5000 }`] : []),
    // --mqtt-out: scores and alert states also published back into the broker (the cost of sinks.mqtt_out).
    ...(mqttOut ? ['  mqtt_out: {}'] : []),
    `limits: { max_streams: ${maxStreams} }`,
    ...(batching ? [`batching: { max_batch: ${batching.maxBatch}, max_wait_ms: ${batching.maxWaitMs} }`] : []),
    // Every stream records its windows (the product's 7-day lookback); retrains are started by the bench, so
    // neither drift nor a schedule starts one of their own. A stream records about one window per 5 minutes of
    // sample time (7 days over 2,000 windows), so at 1,000 streams a retrain trains on 1,000 to 2,000 windows.
    ...(retrain ? ['retrain: { lookback: 7d, min_clean_windows: 10, drift: { enabled: false } }'] : []),
    '',
  ];
  const file = path.join(dir, `${clientId}.yaml`);
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

/** `anomalyd run -c file` as a child; resolves once /readyz answers 200, with the time that took. */
async function startDaemon(configFile, httpPort, { timeoutMs = 60_000, verbose = false, cwd, nodeArgs = [] } = {}) {
  const t0 = process.hrtime.bigint();
  const child = track(spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'main.js'), 'run', '-c', configFile], { cwd: cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  const keep = (d) => {
    if (verbose) process.stderr.write(d);
    out = (out + d).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const base = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) before ready:\n${out}`);
    const ok = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`daemon not ready within ${timeoutMs} ms:\n${out}`);
    }
    await sleep(10);
  }
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    child,
    pid: child.pid,
    base,
    readyMs,
    output: () => out,
    metrics: () => scrape(base),
    rss: () => procStatus(child.pid),
    stop: () => stopChild(child, 15_000),
  };
}

/** The daemon's /metrics parsed into { name{labels}: value } plus sums by bare name; and how long it took. */
async function scrape(base) {
  const t0 = process.hrtime.bigint();
  const text = await (await fetch(`${base}/metrics`)).text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const byName = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const sp = line.lastIndexOf(' ');
    const key = line.slice(0, sp);
    const value = Number(line.slice(sp + 1));
    const brace = key.indexOf('{');
    const name = brace < 0 ? key : key.slice(0, brace);
    byName[name] = (byName[name] ?? 0) + value;
    if (brace >= 0) byName[key] = value;
  }
  byName.__scrape_ms = ms;
  byName.__bytes = text.length;
  return byName;
}

/** VmRSS and VmHWM (MiB) of a process from /proc. */
function procStatus(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text) ?? [])[1]);
  return { rss_mb: kb('VmRSS') / 1024, hwm_mb: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz on Linux)
  } catch {
    return NaN;
  }
}

/** An HTTP receiver for webhook deliveries: calls onAlert(alert, receivedAtMs, body) per alert in each body. */
async function startWebhookReceiver(onAlert) {
  let deliveries = 0;
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const at = performance.now();
      deliveries++;
      res.writeHead(200).end('ok');
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const a of body.alerts ?? []) onAlert(a, at, body);
      } catch {
        /* not ours */
      }
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/hook`, deliveries: () => deliveries, close: () => new Promise((r) => srv.close(() => r())) };
}

/**
 * An InfluxDB 1.x stand-in: /ping 204, /query answers CREATE DATABASE and the like with an empty result,
 * /write 204 and counts the line-protocol lines. It stands in for a real InfluxDB on another host, so the
 * figures measure anomalyd and not a database sharing these two cores.
 */
async function startInfluxStub() {
  let lines = 0;
  let writes = 0;
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/ping') return res.writeHead(204, { 'X-Influxdb-Version': '1.8.10' }).end();
    if (url.pathname === '/query') {
      req.resume();
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results: [{ statement_id: 0, series: [] }] }));
    }
    if (url.pathname === '/write') {
      let n = 0;
      req.on('data', (d) => {
        for (let i = 0; i < d.length; i++) if (d[i] === 10) n++;
      });
      req.on('end', () => {
        writes++;
        lines += n + 1; // the last line of a body has no newline
        res.writeHead(204).end();
      });
      return undefined;
    }
    res.writeHead(404).end();
    return undefined;
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${srv.address().port}/anomalyd`,
    stats: () => ({ writes, lines }),
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

// ---- statistics and output ----

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function round(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function table(title, rows) {
  const w = Math.max(...rows.map((r) => String(r[0]).length));
  log(`\n${title}`);
  for (const [k, v] of rows) log(`  ${String(k).padEnd(w)}  ${v === null || v === undefined ? 'n/a' : typeof v === 'number' ? fmt(v) : String(v)}`);
}

function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

module.exports = {
  ROOT,
  BENCH_ADMIN_TOKEN,
  PUMP_CHANNELS,
  log,
  sleep,
  tempDir,
  track,
  stopChild,
  cleanup,
  freePort,
  ensureDebian,
  startMosquitto,
  spawnNodeJson,
  runCapture,
  daemonConfig,
  startDaemon,
  scrape,
  procStatus,
  cpuSeconds,
  startWebhookReceiver,
  startInfluxStub,
  percentile,
  round,
  table,
};
