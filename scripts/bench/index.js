#!/usr/bin/env node
// `npm run bench -- [--json] [--quick] [--only a,b] [--verbose]`: anomalyd's performance against the baselines a
// user would pick, measured side by side in one run on this machine (issue 7). Everything runs on loopback,
// every wait has a deadline, every process and temp dir it starts is removed at the end.
//
// Sections (--only picks some): scoring, training (tfjs through anomalyd's own code vs PyTorch), conv1d (the
// convolutional autoencoder's scoring and training, native and on tfjs wasm, beside the dense model's), startup,
// ingest (bare mqtt.js subscriber vs the daemon, QoS 1 and 0), latency (anomalous window -> webhook), memory
// (RSS with 1k and 10k streams), latency_retrain (the latency run again while the daemon retrains the model of
// the background streams, one retrain after another). --quick runs every section with small sizes (a smoke run, not a measurement).
// stdout: with --json exactly one JSON object on one line; tables and progress go to stderr.
// (`npm run bench` prints npm's own banner on stdout first; `npm run -s bench -- --json` does not.)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const L = require('./lib');

const SECTIONS = ['scoring', 'training', 'conv1d', 'expected', 'startup', 'ingest', 'latency', 'latency_retrain', 'memory'];

const { values: argv } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    out: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    profile: { type: 'string' },
    batching: { type: 'string' },
    'ingest-runs': { type: 'string' },
    'ingest-messages': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'mqtt-out': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (argv.help) {
  process.stdout.write('Usage: node scripts/bench/index.js [--json] [--quick] [--only ' + SECTIONS.join(',') + '] [--verbose] [--out FILE] [--no-install] [--profile DIR] [--batching MAX_BATCH:MAX_WAIT_MS] [--ingest-runs qos1_drain,qos1_live,qos0_drain,qos0_live] [--ingest-messages N] [--heap-snapshot DIR] [--mqtt-out]\n');
  process.exit(0);
}
const only = new Set((argv.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
for (const s of only) if (!SECTIONS.includes(s)) {
  process.stderr.write(`bench: unknown section '${s}' (sections: ${SECTIONS.join(', ')})\n`);
  process.exit(2);
}
const quick = argv.quick;
if (argv['no-install']) process.env.ANOMALYD_BENCH_NO_INSTALL = '1';
/** --batching 64:20 overrides the daemon's batching (an experiment; default: the product's defaults). */
const batching = argv.batching ? (([b, w]) => ({ maxBatch: Number(b), maxWaitMs: Number(w) }))(argv.batching.split(':')) : undefined;
const verbose = argv.verbose;
/** --ingest-runs picks some of the four ingest runs (for iterating on one; the headline figures need the drains). */
const INGEST_RUNS = ['qos1_drain', 'qos1_live', 'qos0_drain', 'qos0_live'];
const ingestRuns = new Set((argv['ingest-runs'] ?? INGEST_RUNS.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
for (const r of ingestRuns) if (!INGEST_RUNS.includes(r)) {
  process.stderr.write(`bench: unknown ingest run '${r}' (runs: ${INGEST_RUNS.join(', ')})\n`);
  process.exit(2);
}

/** Sizes: the full run (minutes) and the smoke run (seconds). */
const SIZE = quick
  ? { ingestAssets: 50, ingestMessages: 3000, latAssets: 20, latHz: 10, latProbes: 6, latWarmS: 4, latMaxS: 20, latLightAssets: 0, mem: [50, 200], memSamples: 35, memReadings: 3, memLiveS: 6, startups: 1, sectionTimeoutS: 90 }
  : { ingestAssets: 1000, ingestMessages: Number(argv['ingest-messages'] ?? 400_000), latAssets: 1000, latHz: 10, latProbes: 150, latWarmS: 10, latMaxS: 75, latLightAssets: 100, mem: [1000, 10_000], memSamples: 35, memReadings: 21, memLiveS: 30, startups: 3, sectionTimeoutS: 600 };

/** One core for the model benchmarks (both sides), the last one. */
const CPU = String(os.cpus().length - 1);
const hasTaskset = fs.existsSync('/usr/bin/taskset');
const monotonic = () => Number(process.hrtime.bigint()) / 1e9;

const result = {
  scoring: { backend: null, wps_b1: null, wps_b256: null, torch_wps_b256: null, ratio_vs_torch: null },
  training: { backend: null, wps: null, torch_wps: null, ratio_vs_torch: null },
  conv1d: { backend: null, engine: null, scoring_wps_b1: null, scoring_wps_b256: null, training_wps: null, wasm_scoring_wps_b1: null, wasm_scoring_wps_b256: null, wasm_training_wps: null },
  expected: null,
  ingest: { raw_mps_qos1: null, daemon_mps_qos1: null, ratio: null, raw_mps_qos0: null, daemon_mps_qos0: null },
  latency_ms: { p50: null, p99: null },
  latency_during_retrain_ms: { p50: null, p99: null },
  memory: { rss_mb_1k_streams: null, rss_mb_10k_streams: null },
  startup_ms: null,
  meta: {},
};
const notes = [];
let failures = 0;

// ---------------------------------------------------------------------------------------------------------------
// scoring and training

async function modelBench(skip, architecture = 'dense', backend = undefined) {
  const args = [path.join(__dirname, 'modelBench.js'), ...(quick ? ['--quick'] : []), '--skip', skip, '--architecture', architecture];
  const env = { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1', OMP_NUM_THREADS: '1', ...(backend ? { ANOMALYD_BACKEND: backend } : {}) };
  const [cmd, cmdArgs] = hasTaskset ? ['taskset', ['-c', CPU, process.execPath, ...args]] : [process.execPath, args];
  const r = await L.runCapture(cmd, cmdArgs, { timeoutMs: 600_000, verbose, env });
  if (r.code !== 0) throw new Error(`modelBench failed (${r.code ?? r.signal}): ${r.err}`);
  return JSON.parse(r.out.trim().split('\n').pop());
}

const TORCH_PY = '/usr/lib/python3/dist-packages/torch/__init__.py';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3';

async function torchBench() {
  const haveTorch = L.ensureDebian(TORCH_PY, ['python3-torch', 'libopenblas0-openmp']);
  const haveBlas = haveTorch && L.ensureDebian(OPENBLAS, ['libopenblas0-openmp']);
  if (!haveTorch) return { ok: false, error: 'python3-torch is not installed (and could not be installed)' };
  const args = [path.join(L.ROOT, 'scripts', 'torch_bench.py'), '--json', ...(quick ? ['--seconds', '0.3', '--rounds', '1', '--train-windows', '1024', '--epochs', '2'] : [])];
  const [cmd, cmdArgs] = hasTaskset ? ['taskset', ['-c', CPU, '/usr/bin/python3', ...args]] : ['/usr/bin/python3', args];
  const r = await L.runCapture(cmd, cmdArgs, { timeoutMs: 600_000, verbose });
  let out;
  try {
    out = JSON.parse(r.out.trim().split('\n').pop());
  } catch {
    return { ok: false, error: `torch_bench.py failed (${r.code ?? r.signal}): ${r.err.slice(-500)}` };
  }
  if (out.ok && !haveBlas) out.warning = 'libopenblas0-openmp missing: torch uses the reference BLAS, not a meaningful baseline';
  if (out.ok && out.blas && !/openblas/.test(out.blas)) out.warning = `torch's BLAS is ${out.blas}, not OpenBLAS`;
  return out;
}

async function sectionModels() {
  const wantScoring = only.has('scoring');
  const wantTraining = only.has('training');
  // Order: tfjs scoring, torch (scoring + training), tfjs training: each pair as close in time as it gets.
  const tfScore = wantScoring ? await modelBench('training') : null;
  L.log(`bench: tfjs scoring done (${tfScore ? tfScore.backend : 'skipped'})`);
  const torch = await torchBench();
  if (!torch.ok) notes.push(`torch baseline unavailable: ${torch.error}`);
  if (torch.warning) notes.push(torch.warning);
  L.log(`bench: torch done (${torch.ok ? torch.torch_version : 'unavailable'})`);
  const tfTrain = wantTraining ? await modelBench('scoring') : null;
  const torchInfo = torch.ok ? { version: torch.torch_version, blas: torch.blas, threads: torch.threads } : { error: torch.error };
  if (tfScore) {
    const s = tfScore.scoring;
    const t = torch.ok ? torch.scoring : null;
    Object.assign(result.scoring, {
      backend: tfScore.backend,
      wps_b1: L.round(s.wps_b1, 0),
      wps_b256: L.round(s.wps_b256, 0),
      torch_wps_b1: t ? L.round(t.wps_b1, 0) : null,
      torch_wps_b256: t ? L.round(t.wps_b256, 0) : null,
      ratio_vs_torch: t ? L.round(s.wps_b256 / t.wps_b256, 3) : null,
      ratio_vs_torch_b1: t ? L.round(s.wps_b1 / t.wps_b1, 3) : null,
      model: tfScore.layers,
      pinned_cpu: hasTaskset ? Number(CPU) : null,
      torch: torchInfo,
    });
    L.table('scoring (windows/s, D = 140, one core)', [
      ['backend', tfScore.backend],
      ['anomalyd batch 1', s.wps_b1],
      ['anomalyd batch 256', s.wps_b256],
      ['torch batch 1', t ? t.wps_b1 : null],
      ['torch batch 256', t ? t.wps_b256 : null],
      ['ratio b256 / torch', result.scoring.ratio_vs_torch],
      ['ratio b1 / torch', result.scoring.ratio_vs_torch_b1],
    ]);
  }
  denseFigures = { scoring: tfScore && tfScore.scoring, training: tfTrain && tfTrain.training };
  if (tfTrain) {
    const s = tfTrain.training;
    const t = torch.ok ? torch.training : null;
    Object.assign(result.training, {
      backend: tfTrain.backend,
      wps: L.round(s.wps, 0),
      torch_wps: t ? L.round(t.wps, 0) : null,
      ratio_vs_torch: t ? L.round(s.wps / t.wps, 3) : null,
      windows: s.windows,
      batch: s.batch,
      epoch_s: s.epoch_s.map((x) => L.round(x, 3)),
      torch_epoch_s: t ? t.epoch_s.map((x) => L.round(x, 3)) : null,
    });
    L.table(`training (windows/s, ${s.windows} windows, batch 256, Adam, BCE, gaussian noise)`, [
      ['backend', tfTrain.backend],
      ['anomalyd', s.wps],
      ['torch', t ? t.wps : null],
      ['ratio', result.training.ratio_vs_torch],
    ]);
  }
}

// The dense model's figures of this run (sectionModels), for the conv1d section to stand beside.
let denseFigures = { scoring: null, training: null };

/**
 * conv1d: the convolutional autoencoder's scoring and training speed, in the same child process harness as the
 * dense model's (same windows, one core), beside the dense figures of this run (measured here when the scoring
 * and training sections did not run): on the backend the daemon would select (the native addon where it is
 * built) and on tfjs wasm (ANOMALYD_BACKEND=wasm), the path a host without the addon takes.
 */
async function sectionConv1d() {
  const dense = {
    scoring: denseFigures.scoring ?? (await modelBench('training')).scoring,
    training: denseFigures.training ?? (await modelBench('scoring')).training,
  };
  const score = await modelBench('training', 'conv1d');
  const train = await modelBench('scoring', 'conv1d');
  const wasmScore = await modelBench('training', 'conv1d', 'wasm');
  const wasmTrain = await modelBench('scoring', 'conv1d', 'wasm');
  const s = score.scoring;
  const t = train.training;
  Object.assign(result.conv1d, {
    backend: score.backend,
    engine: score.engine,
    training_engine: t.engine,
    kernels: score.kernels,
    tfjs_backend: score.tfjs_backend,
    model: score.layers,
    scoring_wps_b1: L.round(s.wps_b1, 0),
    scoring_wps_b256: L.round(s.wps_b256, 0),
    training_wps: L.round(t.wps, 0),
    training_epoch_s: t.epoch_s.map((x) => L.round(x, 3)),
    wasm_engine: wasmScore.engine,
    wasm_scoring_wps_b1: L.round(wasmScore.scoring.wps_b1, 0),
    wasm_scoring_wps_b256: L.round(wasmScore.scoring.wps_b256, 0),
    wasm_training_wps: L.round(wasmTrain.training.wps, 0),
    dense_scoring_wps_b256: L.round(dense.scoring.wps_b256, 0),
    dense_training_wps: L.round(dense.training.wps, 0),
    scoring_ratio_vs_dense: L.round(s.wps_b256 / dense.scoring.wps_b256, 3),
    training_ratio_vs_dense: L.round(t.wps / dense.training.wps, 3),
    scoring_ratio_vs_wasm: L.round(s.wps_b256 / wasmScore.scoring.wps_b256, 1),
    training_ratio_vs_wasm: L.round(t.wps / wasmTrain.training.wps, 1),
  });
  L.table(`conv1d beside dense (windows/s, D = 140 as 140 steps x 1 channel, one core; selected backend ${score.backend}, conv1d engine ${score.engine})`, [
    ['conv1d scoring batch 1', s.wps_b1],
    ['conv1d scoring batch 256', s.wps_b256],
    ['conv1d training', t.wps],
    ['conv1d on tfjs wasm: scoring batch 1', wasmScore.scoring.wps_b1],
    ['conv1d on tfjs wasm: scoring batch 256', wasmScore.scoring.wps_b256],
    ['conv1d on tfjs wasm: training', wasmTrain.training.wps],
    ['dense scoring batch 256', dense.scoring.wps_b256],
    ['dense training', dense.training.wps],
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// the daemon: shared setup

let broker;
let influx;
let hooks;
const alertWaiters = new Map();
let alertsSeen = 0;

/** expected: the cost of the expected values beside the scores (scripts/bench/expectedBench.js, one core). */
async function sectionExpected() {
  const args = [path.join(__dirname, 'expectedBench.js'), ...(quick ? ['--quick'] : [])];
  const [cmd, cmdArgs] = hasTaskset ? ['taskset', ['-c', CPU, process.execPath, ...args]] : [process.execPath, args];
  const r = await L.runCapture(cmd, cmdArgs, { timeoutMs: 300_000, verbose });
  if (r.code !== 0) throw new Error(`expectedBench failed (${r.code ?? r.signal}): ${r.err}`);
  result.expected = JSON.parse(r.out.trim().split('\n').pop());
  const e = result.expected;
  L.table(`expected values (bundled pump model, batch ${e.batch}, ${e.backend}, one core)`, [
    ['scoring windows/s, without', e.scoring_wps_off],
    ['scoring windows/s, with expected values', e.scoring_wps_on],
    ['InfluxDB points / bytes per window, scores only', `${e.influx_per_window.scores.points} / ${e.influx_per_window.scores.bytes}`],
    ['  with expected values', `${e.influx_per_window.expected.points} / ${e.influx_per_window.expected.bytes}`],
    ['  and the denoised signal (hop 5)', `${e.influx_per_window.expected_and_denoised_hop5.points} / ${e.influx_per_window.expected_and_denoised_hop5.bytes}`],
  ]);
}

async function services() {
  broker ??= await L.startMosquitto();
  influx ??= await L.startInfluxStub();
  hooks ??= await L.startWebhookReceiver((alert, at) => {
    alertsSeen++;
    const stream = alert.labels && alert.labels.stream;
    const w = alertWaiters.get(stream);
    if (w && alert.status === 'firing') {
      alertWaiters.delete(stream);
      w(at);
    }
  });
}

let daemonSeq = 0;
async function launchDaemon(opts = {}, nodeArgs = []) {
  await services();
  const dir = L.tempDir('daemon');
  const httpPort = await L.freePort();
  const clientId = `anomalyd-bench-${process.pid}-${++daemonSeq}`;
  const file = L.daemonConfig({ dir, mqttUrl: broker.url, clientId, httpPort, webhookUrl: hooks.url, influxUrl: influx.url, logLevel: 'info', batching, mqttOut: argv['mqtt-out'], ...opts });
  // ANOMALYD_BENCH_DAEMON_ARGS: extra node options for the daemons (an investigation: --inspect, V8 flags).
  const extra = (process.env.ANOMALYD_BENCH_DAEMON_ARGS ?? '').split(' ').filter(Boolean);
  return L.startDaemon(file, httpPort, { verbose, cwd: dir, nodeArgs: [...extra, ...nodeArgs] });
}

// ---------------------------------------------------------------------------------------------------------------
// startup

async function sectionStartup() {
  const times = [];
  for (let i = 0; i < SIZE.startups; i++) {
    const d = await launchDaemon();
    times.push(d.readyMs);
    await d.stop();
  }
  times.sort((a, b) => a - b);
  result.startup_ms = L.round(L.percentile(times, 50), 0);
  result.meta.startup_runs_ms = times.map((t) => L.round(t, 0));
  L.table('startup (spawn -> /readyz 200, model loaded, broker connected)', [['median ms', result.startup_ms], ['runs', times.map((t) => Math.round(t)).join(', ')]]);
}

// ---------------------------------------------------------------------------------------------------------------
// ingest

function publisherArgs(extra) {
  return [path.join(__dirname, 'publisher.js'), '--url', broker.url, ...extra];
}

/**
 * One flood of `n` messages over `assets` assets at `qos` to a consumer process `pid` (the counter or a daemon).
 * live: the consumer runs while the publisher publishes (all three share the machine's cores).
 * drain: the consumer is paused (SIGSTOP; its connection stays up, Mosquitto queues for it) until the publisher
 * has finished, then resumed (SIGCONT): what is timed is the consumer taking a backlog from the broker, not the
 * publisher's speed. `consumer(start)` resolves with the completion time.
 */
async function flood({ qos, n, assets, line, pid, drain, consumer }) {
  if (drain) process.kill(pid, 'SIGSTOP');
  try {
    const pub = L.spawnNodeJson(...splitArgs(publisherArgs(['--qos', String(qos), '--assets', String(assets), '--messages', String(n), '--line', line])), { verbose });
    await pub.next('ready', 30_000);
    // What the broker and the publisher spend meanwhile: on two cores the three processes compete, so a
    // consumer's cost shows partly as a slower broker or publisher (live runs). The publisher exits when done,
    // so its CPU is polled while it runs; the broker's is read around the consumer's timed span.
    const publisherCpu0 = L.cpuSeconds(pub.child.pid);
    let publisherCpu = publisherCpu0;
    const poll = setInterval(() => {
      const c = L.cpuSeconds(pub.child.pid);
      if (Number.isFinite(c)) publisherCpu = c;
    }, 100);
    const usPerMsg = (seconds) => (seconds / n) * 1e6;
    const pubStart = monotonic();
    const pubDone = pub.next('done', SIZE.sectionTimeoutS * 1000);
    try {
      const p = drain ? await pubDone : null;
      const start = drain ? monotonic() : pubStart;
      const brokerCpu0 = L.cpuSeconds(broker.pid);
      if (drain) process.kill(pid, 'SIGCONT');
      const end = await consumer(start);
      const brokerUsPerMsg = usPerMsg(L.cpuSeconds(broker.pid) - brokerCpu0);
      const publisherMps = (p ?? (await pubDone)).mps;
      return { start, end, publisherMps, brokerUsPerMsg, publisherUsPerMsg: usPerMsg(publisherCpu - publisherCpu0) };
    } finally {
      clearInterval(poll);
    }
  } finally {
    if (drain) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* already gone */
      }
    }
  }
}

async function rawRun(qos, n, assets, drain) {
  const counter = L.spawnNodeJson(path.join(__dirname, 'counter.js'), ['--url', broker.url, '--qos', String(qos), '--expect', String(n), '--timeout', String(SIZE.sectionTimeoutS)], { verbose });
  await counter.next('ready', 30_000);
  const cpu0 = L.cpuSeconds(counter.child.pid);
  let cpu1 = NaN;
  const f = await flood({
    qos,
    n,
    assets,
    line: `raw${qos}`,
    pid: counter.child.pid,
    drain,
    consumer: async () => {
      // CPU is read just before the counter exits (it reports, then ends its connection).
      const done = counter.next('done', SIZE.sectionTimeoutS * 1000);
      const poll = setInterval(() => {
        const c = L.cpuSeconds(counter.child.pid);
        if (Number.isFinite(c)) cpu1 = c;
      }, 100);
      const d = await done;
      clearInterval(poll);
      return d;
    },
  });
  const d = f.end;
  if (d.count < n) throw new Error(`raw subscriber got ${d.count} of ${n} messages at QoS ${qos}`);
  await counter.stop();
  return {
    mps: n / (d.t_last - f.start),
    mps_10_90: (0.8 * n) / (d.t90 - d.t10),
    publisher_mps: f.publisherMps,
    broker_cpu_us_per_msg: f.brokerUsPerMsg,
    publisher_cpu_us_per_msg: f.publisherUsPerMsg,
    cpu_us_per_msg: ((cpu1 - cpu0) / n) * 1e6,
    cpu_share: (cpu1 - cpu0) / (d.t_last - f.start),
  };
}

async function daemonRun(qos, n, assets, drain) {
  // --profile DIR: the daemon of each ingest run writes a V8 CPU profile there (summarised below and on stderr).
  const profileDir = argv.profile ? path.resolve(argv.profile) : null;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const before = profileDir ? new Set(fs.readdirSync(profileDir)) : null;
  const d = await launchDaemon({ qos }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  let profile = null;
  try {
    const perAsset = Math.ceil(n / assets);
    const expectWindows = assets * (perAsset >= 30 ? Math.floor((perAsset - 30) / 5) + 1 : 0);
    const m0 = await d.metrics();
    const cpu0 = L.cpuSeconds(d.pid);
    const polls = [{ t: 0, samples: 0, windows: 0, scrape_ms: 0, rss_mb: d.rss().rss_mb, queue: 0 }];
    const f = await flood({
      qos,
      n,
      assets,
      line: `d${qos}`,
      pid: d.pid,
      drain,
      consumer: async (start) => {
        const deadline = Date.now() + SIZE.sectionTimeoutS * 1000;
        for (;;) {
          const sent = monotonic();
          const m = await d.metrics();
          const at = monotonic();
          const samples = m.anomalyd_samples_total - m0.anomalyd_samples_total;
          const windows = m.anomalyd_windows_scored_total - m0.anomalyd_windows_scored_total;
          polls.push({ t: at - start, samples, windows, scrape_ms: at - sent > 0 ? (at - sent) * 1000 : 0, rss_mb: d.rss().rss_mb, queue: m.anomalyd_queue_depth ?? 0 });
          if (samples >= n && windows >= expectWindows) return at;
          if (Date.now() > deadline) throw new Error(`daemon processed ${samples}/${n} samples, ${windows}/${expectWindows} windows at QoS ${qos} within the deadline`);
          // Scrapes cost the daemon CPU (all stream-labelled series): 1 s apart, then 100 ms near the end.
          await L.sleep(samples >= 0.97 * n ? 100 : 1000);
        }
      },
    });
    const cpu = L.cpuSeconds(d.pid) - cpu0;
    const m = await d.metrics();
    const rejected = m.anomalyd_messages_rejected_total - m0.anomalyd_messages_rejected_total;
    const seconds = f.end - f.start;
    // Sustained rate over the middle of the run from the scrape series (linear interpolation).
    const cross = (frac) => {
      const target = frac * n;
      for (let i = 1; i < polls.length; i++) {
        if (polls[i].samples >= target) {
          const a = polls[i - 1];
          const b = polls[i];
          return a.t + ((target - a.samples) / Math.max(1, b.samples - a.samples)) * (b.t - a.t);
        }
      }
      return NaN;
    };
    const batches = m.anomalyd_inference_batch_size_count - (m0.anomalyd_inference_batch_size_count ?? 0);
    const batchWindows = m.anomalyd_inference_batch_size_sum - (m0.anomalyd_inference_batch_size_sum ?? 0);
    const inferS = m.anomalyd_inference_seconds_sum - (m0.anomalyd_inference_seconds_sum ?? 0);
    await d.stop();
    if (profileDir) {
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
      if (file) {
        const summary = require('./profileSummary').summarise(path.join(profileDir, file));
        L.log(`\ndaemon CPU profile (QoS ${qos} ${drain ? 'drain' : 'live'} run, includes start-up and shutdown)\n${summary.text}`);
        profile = { file: path.join(profileDir, file), areas_pct: summary.areas };
      }
    }
    return {
      profile,
      mps: n / seconds,
      mps_10_90: (0.8 * n) / (cross(0.9) - cross(0.1)),
      publisher_mps: f.publisherMps,
      broker_cpu_us_per_msg: f.brokerUsPerMsg,
      publisher_cpu_us_per_msg: f.publisherUsPerMsg,
      cpu_us_per_msg: (cpu / n) * 1e6,
      cpu_share: cpu / seconds,
      windows_scored: m.anomalyd_windows_scored_total - m0.anomalyd_windows_scored_total,
      expected_windows: expectWindows,
      rejected,
      mean_batch: batches > 0 ? batchWindows / batches : null,
      inference_share_of_cpu: cpu > 0 ? inferS / cpu : null,
      inference_us_per_window: batchWindows > 0 ? (inferS / batchWindows) * 1e6 : null,
      alerts_fired: m['anomalyd_alerts_total{state="firing"}'] - (m0['anomalyd_alerts_total{state="firing"}'] ?? 0),
      max_scrape_ms: Math.max(...polls.map((p) => p.scrape_ms)),
      peak_rss_mb: Math.max(...polls.map((p) => p.rss_mb)),
      lag_windows_when_samples_done: (() => {
        const p = polls.find((x) => x.samples >= n);
        return p ? expectWindows - p.windows : null;
      })(),
    };
  } finally {
    await d.stop();
  }
}

async function sectionIngest() {
  await services();
  const n = SIZE.ingestMessages;
  const assets = SIZE.ingestAssets;
  const detail = {};
  for (const qos of [1, 0]) {
    for (const mode of ['drain', 'live']) {
      const drain = mode === 'drain';
      if (!ingestRuns.has(`qos${qos}_${mode}`)) continue;
      L.log(`bench: ingest QoS ${qos}, ${mode}: raw subscriber, ${n} messages over ${assets} assets ...`);
      const raw = await rawRun(qos, n, assets, drain);
      L.log(`bench: ingest QoS ${qos}, ${mode}: anomalyd daemon ...`);
      const dm = await daemonRun(qos, n, assets, drain);
      detail[`qos${qos}_${mode}`] = { raw: roundAll(raw), daemon: roundAll(dm), ratio: L.round(dm.mps / raw.mps, 3) };
      // The headline is the live run: messages per second each consumer sustains while a publisher sends at
      // full speed, as the issue's own orientation figures were measured (a bare mqtt.js subscriber: 105,000
      // msg/s at QoS 0 and 50,000 at QoS 1, the publisher's pace). The drain run (a backlog taken as fast as
      // the consumer can) is the stricter capacity figure, reported beside it.
      const into = drain ? (result.ingest.drain ??= {}) : result.ingest;
      Object.assign(into, {
        [`raw_mps_qos${qos}`]: L.round(raw.mps, 0),
        [`daemon_mps_qos${qos}`]: L.round(dm.mps, 0),
        [`ratio_qos${qos}`]: L.round(dm.mps / raw.mps, 3),
        [`publisher_mps_qos${qos}`]: L.round(raw.publisher_mps, 0),
        [`raw_cpu_us_per_msg_qos${qos}`]: L.round(raw.cpu_us_per_msg, 1),
        [`daemon_cpu_us_per_msg_qos${qos}`]: L.round(dm.cpu_us_per_msg, 1),
        // CPU cost per message is the figure least disturbed by other load on a shared machine.
        [`ratio_cpu_qos${qos}`]: L.round(raw.cpu_us_per_msg / dm.cpu_us_per_msg, 3),
        [`daemon_cpu_share_qos${qos}`]: L.round(dm.cpu_share, 3),
      });
      if (!drain && raw.mps > 0.9 * raw.publisher_mps) notes.push(`ingest live QoS ${qos}: the raw subscriber kept pace with the publisher (${Math.round(raw.publisher_mps)} msg/s): its figure is the publisher's pace`);
      L.table(`ingest QoS ${qos}, ${mode} (${n} pump JSON messages, ${assets} assets, real Mosquitto)`, [
        ['raw subscriber msg/s', raw.mps],
        ['anomalyd msg/s (to last window scored)', dm.mps],
        ['ratio', dm.mps / raw.mps],
        ['raw msg/s, 10%-90%', raw.mps_10_90],
        ['anomalyd msg/s, 10%-90% of samples', dm.mps_10_90],
        ['publisher msg/s (raw run / daemon run)', `${Math.round(raw.publisher_mps)} / ${Math.round(dm.publisher_mps)}`],
        ['CPU us per message: raw / anomalyd', `${raw.cpu_us_per_msg.toFixed(1)} / ${dm.cpu_us_per_msg.toFixed(1)}`],
        ['CPU share while timed (1 = a core): raw / anomalyd', `${raw.cpu_share.toFixed(2)} / ${dm.cpu_share.toFixed(2)}`],
        ['Mosquitto CPU us per message: raw run / daemon run', `${raw.broker_cpu_us_per_msg.toFixed(1)} / ${dm.broker_cpu_us_per_msg.toFixed(1)}`],
        ['publisher CPU us per message: raw run / daemon run', `${raw.publisher_cpu_us_per_msg.toFixed(1)} / ${dm.publisher_cpu_us_per_msg.toFixed(1)}`],
        ['windows scored / expected', `${dm.windows_scored} / ${dm.expected_windows}`],
        ['mean inference batch', dm.mean_batch],
        ['inference share of daemon CPU', dm.inference_share_of_cpu],
        ['longest /metrics scrape ms', dm.max_scrape_ms],
        ['alerts fired', dm.alerts_fired],
      ]);
    }
  }
  result.ingest.ratio = result.ingest.ratio_qos1;
  result.ingest.method = 'live: a publisher sends at full speed while the consumer runs, timed to the last message counted (raw) / last window scored (daemon); drain (consumer paused while the publisher fills Mosquitto, then resumed) under "drain"';
  result.ingest.messages = n;
  result.ingest.assets = assets;
  result.ingest.detail = detail;
}

function roundAll(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? L.round(v, v >= 100 ? 0 : 3) : v]));
}

// ---------------------------------------------------------------------------------------------------------------
// latency

/** A clearly anomalous pump sample: bearing vibration ten times normal, everything else typical. */
function anomalousPayload(ts) {
  return JSON.stringify({ ts, vib_x_rms: 15, vib_y_rms: 12, vib_z_rms: 8, motor_current_a: 30, voltage_v: 400, pressure_bar: 5, flow_m3h: 100, temperature_c: 35 });
}

/**
 * Probes under background load: `assets` pumps at `hz` publish normal telemetry (QoS 1, a publisher process)
 * while this process, one probe stream at a time, publishes 29 anomalous samples, pauses, then times the 30th
 * (which completes the stream's first window) from publish to the firing alert at the webhook receiver.
 * Stops after `probes` probes, `maxS` seconds or 5 misses in a row (an alert not received within 10 s is a
 * miss and counts as 10 s in the percentiles, so a backlog cannot make p99 look better).
 */
async function latencyRun({ assets, hz, probes, warmS, maxS, profileDir = null, retrain = false }) {
  const mqtt = require('mqtt');
  // Room for every background asset and every probe stream: at the default limit (1,000) the probes of the
  // 1,000-asset run were refused as stream_limit and looked like a latency of 10 s.
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const before = profileDir ? new Set(fs.readdirSync(profileDir)) : null;
  const d = await launchDaemon({ k: 1, n: 1, maxStreams: assets + probes + 100, retrain }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const bgMps = assets * hz;
  const duration = warmS + maxS + 30;
  let bg;
  let probe;
  try {
    bg = L.spawnNodeJson(...splitArgs(publisherArgs(['--qos', '1', '--assets', String(assets), '--rate-hz', String(hz), '--duration', String(duration), '--line', 'bg'])), { verbose });
    await bg.next('ready', 30_000);
    let bgProgress = null;
    bg.on('progress', (p) => (bgProgress = p));
    L.log(`bench: latency: background ${assets} assets x ${hz} Hz = ${bgMps} msg/s; warming up ${warmS} s ...`);
    await L.sleep(warmS * 1000);
    const m0 = await d.metrics();
    const pub0 = bgProgress;
    const t0 = monotonic();
    const cpu0 = L.cpuSeconds(d.pid);

    const retrains = retrain ? retrainDriver(d.base, 'bg/p0') : null;
    if (retrains) await retrains.started;
    probe = mqtt.connect(broker.url, { clientId: `bench-probe-${process.pid}-${assets}`, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
    await new Promise((resolve, reject) => {
      probe.once('connect', resolve);
      probe.once('error', reject);
    });
    const latencies = [];
    let missed = 0;
    let missedInRow = 0;
    let sent = 0;
    const base = Date.parse('2026-01-06T00:00:00Z');
    const timeoutMs = 10_000;
    for (let i = 0; i < probes && monotonic() - t0 < maxS && missedInRow < 5; i++) {
      const stream = `probe${assets}/q${i}`;
      const topic = `plant/probe${assets}/q${i}/telemetry`;
      // 29 samples fill the window; the 30th completes it (the first window of a stream ends at its 30th sample).
      await Promise.all(Array.from({ length: 29 }, (_, j) => probe.publishAsync(topic, anomalousPayload(base + j * 1000), { qos: 1 })));
      await L.sleep(50 + Math.random() * 150);
      const fired = new Promise((resolve) => {
        alertWaiters.set(stream, resolve);
        setTimeout(() => resolve(null), timeoutMs).unref();
      });
      const sentAt = performance.now();
      probe.publish(topic, anomalousPayload(base + 29 * 1000), { qos: 1 });
      sent++;
      const at = await fired;
      alertWaiters.delete(stream);
      if (at === null) {
        missed++;
        missedInRow++;
      } else {
        missedInRow = 0;
        latencies.push(at - sentAt);
      }
      await L.sleep(50 + Math.random() * 200);
    }
    const seconds = monotonic() - t0;
    const retrainStats = retrains ? await retrains.stop() : null;
    const m = await d.metrics();
    const cpu = L.cpuSeconds(d.pid) - cpu0;
    const daemonMps = (m.anomalyd_messages_received_total - m0.anomalyd_messages_received_total) / seconds;
    const publishedMps = bgProgress && pub0 ? (bgProgress.published - pub0.published) / (bgProgress.seconds - pub0.seconds) : null;
    const sorted = latencies.slice().sort((x, y) => x - y);
    const withMissed = sorted.concat(Array(missed).fill(timeoutMs)).sort((x, y) => x - y);
    const out = {
      p50: L.round(L.percentile(withMissed, 50), 1),
      p90: L.round(L.percentile(withMissed, 90), 1),
      p99: L.round(L.percentile(withMissed, 99), 1),
      max: L.round(withMissed[withMissed.length - 1], 1),
      min: L.round(sorted[0], 1),
      alerts: sent,
      missed,
      background: {
        assets,
        rate_hz: hz,
        target_mps: bgMps,
        published_mps: L.round(publishedMps, 0),
        daemon_mps: L.round(daemonMps, 0),
        daemon_cpu_share: L.round(cpu / seconds, 3),
        other_alerts_fired: L.round(m['anomalyd_alerts_total{state="firing"}'] - (m0['anomalyd_alerts_total{state="firing"}'] ?? 0) - latencies.length, 0),
        rejected: (m.anomalyd_messages_rejected_total ?? 0) - (m0.anomalyd_messages_rejected_total ?? 0),
        // The daemon's own event-loop delay while the probes ran (prom-client resets it at each scrape): large
        // values mean the daemon itself blocked; small ones with a long latency tail point at the machine.
        eventloop_lag_p99_ms: m.anomalyd_nodejs_eventloop_lag_p99_seconds != null ? L.round(m.anomalyd_nodejs_eventloop_lag_p99_seconds * 1000, 1) : null,
        eventloop_lag_max_ms: m.anomalyd_nodejs_eventloop_lag_max_seconds != null ? L.round(m.anomalyd_nodejs_eventloop_lag_max_seconds * 1000, 1) : null,
        mean_inference_batch: L.round((m.anomalyd_inference_batch_size_sum - m0.anomalyd_inference_batch_size_sum) / Math.max(1, m.anomalyd_inference_batch_size_count - m0.anomalyd_inference_batch_size_count), 1),
      },
      ...(retrainStats ? { retrain: retrainStats } : {}),
    };
    if (retrainStats && retrainStats.busy_share < 0.9) notes.push(`latency during retrain: a retrain ran for only ${Math.round(retrainStats.busy_share * 100)} % of the probes`);
    if (daemonMps < 0.95 * bgMps) notes.push(`latency at ${assets} assets x ${hz} Hz: the daemon processed ${Math.round(daemonMps)} of the ${bgMps} msg/s offered, so it fell behind and probes waited in the broker's backlog`);
    if (publishedMps !== null && publishedMps < 0.95 * bgMps) notes.push(`latency at ${assets} assets x ${hz} Hz: the publisher only managed ${Math.round(publishedMps)} of ${bgMps} msg/s`);
    if (out.background.rejected > 0) notes.push(`latency at ${assets} assets x ${hz} Hz: the daemon rejected ${out.background.rejected} messages (see anomalyd_messages_rejected_total by reason)`);
    if (missed > 0) notes.push(`latency at ${assets} assets x ${hz} Hz: ${missed} of ${sent} alerts did not arrive within ${timeoutMs} ms (counted as ${timeoutMs} ms)`);
    L.table(`latency, ${assets} assets x ${hz} Hz background (last sample of an anomalous window published -> webhook received; k = 1)`, [
      ['probes / missed', `${sent} / ${missed}`],
      ['p50 ms', out.p50],
      ['p90 ms', out.p90],
      ['p99 ms', out.p99],
      ['max ms', out.max],
      ['background target msg/s', bgMps],
      ['background published msg/s', publishedMps],
      ['daemon processed msg/s', daemonMps],
      ['daemon CPU share (1 = one core)', cpu / seconds],
      ['daemon event-loop delay p99 / max ms', `${out.background.eventloop_lag_p99_ms} / ${out.background.eventloop_lag_max_ms}`],
      ...(retrainStats ? [['retrains finished (candidate / refused / failed)', `${retrainStats.candidate} / ${retrainStats.refused} / ${retrainStats.failed}`], ['share of probe time a retrain ran', retrainStats.busy_share], ['retrain windows, seconds each (median)', `${retrainStats.windows}, ${retrainStats.median_s}`]] : []),
    ]);
    return out;
  } finally {
    if (probe) await probe.endAsync().catch(() => undefined);
    if (bg) await bg.stop();
    await d.stop();
    const file = profileDir ? fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f)) : undefined;
    if (file) L.log(`\ndaemon CPU profile (latency run, ${assets} assets; includes start-up and shutdown)\n${require('./profileSummary').summarise(path.join(profileDir, file)).text}`);
  }
}

async function sectionLatency() {
  await services();
  // --profile DIR: also a CPU profile of the nominal run's daemon (in DIR/latency).
  const profileDir = argv.profile ? path.join(path.resolve(argv.profile), 'latency') : null;
  const nominal = await latencyRun({ assets: SIZE.latAssets, hz: SIZE.latHz, probes: SIZE.latProbes, warmS: SIZE.latWarmS, maxS: SIZE.latMaxS, profileDir });
  Object.assign(result.latency_ms, nominal);
  if (SIZE.latLightAssets) {
    result.latency_ms.light = await latencyRun({ assets: SIZE.latLightAssets, hz: SIZE.latHz, probes: SIZE.latProbes, warmS: SIZE.latWarmS, maxS: SIZE.latMaxS });
  }
}

/**
 * Keeps a retrain of `stream`'s model running: starts one (POST /api/v1/streams/{id}/retrain) whenever none is
 * queued or training, polling every 100 ms. `started` resolves once the first one trains; stop() ends the loop
 * and says how the retrains went and for what share of the polls one was queued or training.
 */
function retrainDriver(base, stream) {
  const url = `${base}/api/v1/streams/${encodeURIComponent(stream)}/retrain`;
  const headers = { authorization: `Bearer ${L.BENCH_ADMIN_TOKEN}` };
  const finished = new Map();
  let polls = 0;
  let busy = 0;
  let stopped = false;
  let everStarted = false;
  let markStarted;
  const started = new Promise((r) => (markStarted = r));
  const loop = (async () => {
    const deadline = Date.now() + 60_000;
    while (!stopped) {
      const r = await fetch(url, { headers }).catch(() => null);
      const job = r && r.status === 200 ? await r.json() : null;
      const running = job !== null && (job.state === 'queued' || job.state === 'training');
      if (job && !running) finished.set(job.id, job);
      if (running) {
        markStarted();
        everStarted = true;
      } else {
        const p = await fetch(url, { method: 'POST', headers }).catch(() => null);
        if (p && p.status !== 202 && p.status !== 409) throw new Error(`retrain refused: ${p.status} ${await p.text()}`);
        if (!everStarted && Date.now() > deadline) throw new Error('no retrain started within 60 s');
      }
      polls++;
      if (running) busy++;
      await L.sleep(100);
    }
  })();
  return {
    started: Promise.race([started, loop]),
    async stop() {
      stopped = true;
      await loop;
      // The polls before the probes started count too; close enough, as the first retrain starts at once.
      const jobs = [...finished.values()];
      const seconds = jobs.filter((j) => j.started_at && j.finished_at).map((j) => (Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000).sort((a, b) => a - b);
      return {
        candidate: jobs.filter((j) => j.state === 'shadow').length,
        refused: jobs.filter((j) => j.state === 'refused').length,
        failed: jobs.filter((j) => j.state === 'failed').length,
        reasons: [...new Set(jobs.filter((j) => j.reason).map((j) => j.reason))].slice(0, 3),
        windows: jobs.find((j) => j.windows)?.windows ?? null,
        median_s: seconds.length ? L.round(L.percentile(seconds, 50), 2) : null,
        busy_share: L.round(polls ? busy / polls : 0, 3),
      };
    },
  };
}

async function sectionLatencyRetrain() {
  await services();
  Object.assign(result.latency_during_retrain_ms, await latencyRun({ assets: SIZE.latAssets, hz: SIZE.latHz, probes: SIZE.latProbes, warmS: SIZE.latWarmS, maxS: SIZE.latMaxS, retrain: true }));
}

function splitArgs(args) {
  return [args[0], args.slice(1)];
}

// ---------------------------------------------------------------------------------------------------------------
// memory

async function sectionMemory() {
  // --heap-snapshot DIR: a V8 heap snapshot of the daemon after each step (what holds the heap). Writing one
  // costs the daemon hundreds of MB of native memory that stays in its RSS: RSS figures of such a run are void.
  const snapDir = argv['heap-snapshot'] ? path.resolve(argv['heap-snapshot']) : null;
  if (snapDir) fs.mkdirSync(snapDir, { recursive: true });
  const d = await launchDaemon({ maxStreams: Math.max(...SIZE.mem) * 2 }, snapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : []);
  try {
    const m0 = await d.metrics();
    const base = d.rss();
    const out = { rss_mb_idle: L.round(base.rss_mb, 1), samples_per_stream: SIZE.memSamples, live_seconds: SIZE.memLiveS };
    let done = 0;
    // Payload timestamps go on across the steps' live phases (the first streams keep their grid; the new ones
    // jump ahead over a gap, which restarts their windows as any gap longer than max_gap_ms does).
    let nextSample = SIZE.memSamples;
    for (const target of SIZE.mem) {
      const add = target - done;
      const n = add * SIZE.memSamples;
      L.log(`bench: memory: ${add} more streams (${n} messages) -> ${target} streams ...`);
      const pub = L.spawnNodeJson(...splitArgs(publisherArgs(['--qos', '1', '--assets', String(add), '--asset-offset', String(done), '--messages', String(n), '--line', 'mem'])), { verbose });
      await pub.next('ready', 30_000);
      const pubDone = pub.next('done', SIZE.sectionTimeoutS * 1000);
      const expectSamples = n + (await d.metrics()).anomalyd_samples_total - m0.anomalyd_samples_total;
      const deadline = Date.now() + SIZE.sectionTimeoutS * 1000;
      for (;;) {
        const m = await d.metrics();
        const samples = m.anomalyd_samples_total - m0.anomalyd_samples_total;
        if (samples >= expectSamples && (m.anomalyd_queue_depth ?? 0) === 0) break;
        if (Date.now() > deadline) throw new Error(`memory: daemon processed ${samples}/${expectSamples} samples`);
        await L.sleep(1000);
      }
      await pubDone;
      const key = target === SIZE.mem[0] ? 'rss_mb_1k_streams' : 'rss_mb_10k_streams';
      // Quiet: the streams have sent their samples and stopped (the figure of earlier versions of this bench:
      // how much of the ramp-up's garbage V8 collected decides it, so it varies between runs).
      await L.sleep(2000);
      const quiet = await rssReadings(d, SIZE.memReadings);
      out[`${key}_quiet`] = quiet.median;
      // Live, the headline: every stream sends at 1 Hz (10,000 msg/s at 10,000 streams, the nominal load of
      // the latency run), as a plant's streams do; readings over the second half of the phase.
      L.log(`bench: memory: ${target} streams sending at 1 Hz for ${SIZE.memLiveS} s ...`);
      const live = L.spawnNodeJson(...splitArgs(publisherArgs(['--qos', '1', '--assets', String(target), '--line', 'mem', '--rate-hz', '1', '--duration', String(SIZE.memLiveS), '--start-sample', String(nextSample)])), { verbose });
      await live.next('ready', 30_000);
      const liveDone = live.next('done', (SIZE.memLiveS + 60) * 1000);
      await L.sleep((SIZE.memLiveS * 1000) / 2);
      const r = await rssReadings(d, SIZE.memLiveS - 1);
      const published = await liveDone;
      nextSample += SIZE.memLiveS + 2;
      const m = await d.metrics();
      result.memory[key] = r.median;
      out[`${key}_min`] = r.min;
      out[`${key}_max`] = r.max;
      out[`${key}_peak`] = r.hwm;
      out[`${key}_live_msgs_per_s`] = L.round(published.mps, 0);
      out[`streams_${key.includes('1k') ? 'first' : 'second'}`] = m.anomalyd_streams_active ?? target;
      // Where the RSS is: V8's heap as reserved (young generation included), memory outside it that V8 knows of
      // (ArrayBuffers, Buffers, wasm memories), and the young generation alone. The rest is code, native
      // libraries and malloc arenas.
      const mb = (v) => (typeof v === 'number' ? L.round(v / 1048576, 1) : null);
      out[`heap_used_mb_${target}`] = mb(m.anomalyd_nodejs_heap_size_used_bytes);
      out[`heap_total_mb_${target}`] = mb(m.anomalyd_nodejs_heap_size_total_bytes);
      out[`external_mb_${target}`] = mb(m.anomalyd_nodejs_external_memory_bytes);
      out[`new_space_mb_${target}`] = mb(m['anomalyd_nodejs_heap_space_size_total_bytes{space="new"}']);
      out[`rejected_${target}`] = m.anomalyd_messages_rejected_total ?? 0;
      if (snapDir) out[`heap_snapshot_${target}`] = await heapSnapshot(d, snapDir);
      done = target;
    }
    out.streams = SIZE.mem;
    Object.assign(result.memory, out);
    const big = SIZE.mem[1];
    L.table('memory (daemon VmRSS, MiB; streams sending at 1 Hz, quiet in brackets)', [
      ['idle, model loaded', out.rss_mb_idle],
      [`${SIZE.mem[0]} streams`, `${result.memory.rss_mb_1k_streams} (${out.rss_mb_1k_streams_quiet})`],
      [`${big} streams`, `${result.memory.rss_mb_10k_streams} (${out.rss_mb_10k_streams_quiet})`],
      [`${big} streams: lowest / highest reading`, `${out.rss_mb_10k_streams_min} / ${out.rss_mb_10k_streams_max}`],
      ['peak (VmHWM)', out.rss_mb_10k_streams_peak],
      [`${big} streams: V8 heap total / used`, `${out[`heap_total_mb_${big}`]} / ${out[`heap_used_mb_${big}`]}`],
      [`${big} streams: young generation`, out[`new_space_mb_${big}`]],
      [`${big} streams: external (ArrayBuffers, wasm)`, out[`external_mb_${big}`]],
    ]);
  } finally {
    await d.stop();
  }
}

/**
 * VmRSS every 0.5 s, `n` readings: the median with the lowest and highest beside it, so a checkpoint or a
 * collection at the moment of one reading does not decide the figure; hwm = VmHWM at the end.
 */
async function rssReadings(d, n) {
  const readings = [];
  let rss = d.rss();
  for (let i = 0; i < n; i++) {
    if (i > 0) await L.sleep(500);
    rss = d.rss();
    readings.push(rss.rss_mb);
  }
  readings.sort((a, b) => a - b);
  return { median: L.round(readings[Math.floor(readings.length / 2)], 1), min: L.round(readings[0], 1), max: L.round(readings[readings.length - 1], 1), hwm: L.round(rss.hwm_mb, 1) };
}

/** Signals the daemon to write a heap snapshot into dir and waits until the file is complete. */
async function heapSnapshot(d, dir) {
  const before = new Set(fs.readdirSync(dir));
  process.kill(d.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (;;) {
    await L.sleep(500);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // V8 writes the file in one go and closes it; a size that stopped growing means it is done.
    if (file) {
      const size = fs.statSync(path.join(dir, file)).size;
      await L.sleep(1000);
      if (fs.statSync(path.join(dir, file)).size === size && size > 0) return path.join(dir, file);
    }
    if (Date.now() > deadline) throw new Error('memory: no heap snapshot within 120 s');
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  if (!fs.existsSync(path.join(L.ROOT, 'dist', 'main.js'))) throw new Error("dist/main.js is missing: run 'npm run build' first");
  result.meta = {
    quick,
    sections: [...only],
    batching: batching ?? 'product defaults (max_batch 64, max_wait_ms 20)',
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    loadavg_start: os.loadavg().map((x) => L.round(x, 2)),
    started: new Date(started).toISOString(),
  };
  const run = async (name, fn) => {
    L.log(`bench: ${name} ...`);
    try {
      await fn();
    } catch (err) {
      failures++;
      notes.push(`${name} failed: ${err.message.split('\n')[0]}`);
      L.log(`bench: ${name} failed: ${err.stack}`);
    }
  };
  if (only.has('scoring') || only.has('training')) await run('scoring/training', sectionModels);
  if (only.has('conv1d')) await run('conv1d', sectionConv1d);
  if (only.has('expected')) await run('expected', sectionExpected);
  if (only.has('startup')) await run('startup', sectionStartup);
  if (only.has('ingest')) await run('ingest', sectionIngest);
  if (only.has('latency')) await run('latency', sectionLatency);
  if (only.has('latency_retrain')) await run('latency_retrain', sectionLatencyRetrain);
  if (only.has('memory')) await run('memory', sectionMemory);
  result.meta.loadavg_end = os.loadavg().map((x) => L.round(x, 2));
  result.meta.duration_s = L.round((Date.now() - started) / 1000, 1);
  result.meta.notes = notes;
  if (hooks) await hooks.close();
  if (influx) await influx.close();
  if (broker) await broker.stop();
  await L.cleanup();
  const json = JSON.stringify(result);
  if (argv.out) fs.writeFileSync(argv.out, JSON.stringify(result, null, 2) + '\n');
  if (argv.json) process.stdout.write(json + '\n');
  else process.stderr.write(`\n${JSON.stringify(result, null, 2)}\n`);
  if (notes.length) L.log(`\nnotes:\n  ${notes.join('\n  ')}`);
}

const watchdog = setTimeout(() => {
  L.log('bench: overall time limit reached; stopping');
  process.exit(1);
}, (quick ? 5 : 40) * 60_000);
watchdog.unref();

main().then(
  () => process.exit(failures > 0 ? 1 : 0),
  async (err) => {
    L.log(`bench: ${err.stack}`);
    await L.cleanup();
    process.exit(1);
  },
);
