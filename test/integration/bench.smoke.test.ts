// Smoke test of the benchmark harness (scripts/bench, issue 7), not a measurement: `--quick` sizes, a few
// sections (the cost of the expected values too), well under a minute. Checks the contract (exactly one JSON object on stdout with the documented
// keys), that the sections it runs produce positive figures, and that the harness leaves no temp dirs behind.
// torch is not installed from here (--no-install): without it the torch figures are null, which is allowed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'bench', 'index.js');

interface BenchResult {
  scoring: { backend: string | null; wps_b1: number | null; wps_b256: number | null; torch_wps_b256: number | null; ratio_vs_torch: number | null };
  training: { backend: string | null; wps: number | null; torch_wps: number | null; ratio_vs_torch: number | null };
  ingest: {
    raw_mps_qos1: number | null;
    daemon_mps_qos1: number | null;
    ratio: number | null;
    raw_mps_qos0: number | null;
    daemon_mps_qos0: number | null;
    drain?: { ratio_qos1: number; ratio_qos0: number; daemon_cpu_us_per_msg_qos1: number };
  };
  latency_ms: { p50: number | null; p99: number | null; missed?: number };
  memory: { rss_mb_1k_streams: number | null; rss_mb_10k_streams: number | null; rss_mb_10k_streams_quiet?: number; rss_mb_10k_streams_live_msgs_per_s?: number };
  startup_ms: number | null;
  expected: null | {
    scoring_wps_off: number;
    scoring_wps_on: number;
    influx_per_window: Record<'scores' | 'expected' | 'expected_and_denoised_hop5', { points: number; bytes: number }>;
  };
  meta: { quick: boolean; notes: string[] };
}

function benchDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('anomalyd-bench-')));
}

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const positive = (v: number | null | undefined, what: string): void => {
  assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} should be a positive number (got ${String(v)})`);
};

test('bench --quick: one JSON object with the documented keys, positive figures, nothing left behind', { timeout: 120_000, skip: !existsSync('/usr/sbin/mosquitto') && process.getuid?.() !== 0 ? 'mosquitto missing and not root' : false }, async () => {
  const before = benchDirs();
  const r = await runBench(['--quick', '--json', '--no-install', '--only', 'scoring,startup,latency,memory'], 110_000);
  assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `stdout must hold exactly one line, got:\n${r.stdout.slice(0, 2000)}`);
  const b = JSON.parse(lines[0]) as BenchResult;

  for (const key of ['scoring', 'training', 'ingest', 'latency_ms', 'memory', 'startup_ms']) assert.ok(key in b, `missing key ${key}`);
  for (const key of ['backend', 'wps_b1', 'wps_b256', 'torch_wps_b256', 'ratio_vs_torch']) assert.ok(key in b.scoring, `scoring.${key}`);
  for (const key of ['backend', 'wps', 'torch_wps', 'ratio_vs_torch']) assert.ok(key in b.training, `training.${key}`);
  for (const key of ['raw_mps_qos1', 'daemon_mps_qos1', 'ratio', 'raw_mps_qos0', 'daemon_mps_qos0']) assert.ok(key in b.ingest, `ingest.${key}`);
  for (const key of ['p50', 'p99']) assert.ok(key in b.latency_ms, `latency_ms.${key}`);
  for (const key of ['rss_mb_1k_streams', 'rss_mb_10k_streams']) assert.ok(key in b.memory, `memory.${key}`);
  assert.equal(b.meta.quick, true);

  assert.ok(['tensorflow', 'native', 'wasm', 'cpu'].includes(b.scoring.backend ?? ''), `backend ${b.scoring.backend}`);
  positive(b.scoring.wps_b1, 'scoring.wps_b1');
  positive(b.scoring.wps_b256, 'scoring.wps_b256');
  if (b.scoring.torch_wps_b256 === null) assert.equal(b.scoring.ratio_vs_torch, null, 'no torch, no ratio');
  else positive(b.scoring.ratio_vs_torch, 'scoring.ratio_vs_torch');
  positive(b.startup_ms, 'startup_ms');
  positive(b.latency_ms.p50, 'latency_ms.p50');
  assert.ok((b.latency_ms.p99 ?? 0) >= (b.latency_ms.p50 ?? Infinity), 'p99 >= p50');
  assert.equal(b.latency_ms.missed, 0, 'every probe alert arrived at the webhook receiver');
  positive(b.memory.rss_mb_1k_streams, 'memory.rss_mb_1k_streams');
  positive(b.memory.rss_mb_10k_streams, 'memory.rss_mb_10k_streams');
  positive(b.memory.rss_mb_10k_streams_quiet ?? null, 'memory.rss_mb_10k_streams_quiet');
  // The headline is measured while every stream sends (quick: 200 streams at 1 Hz).
  positive(b.memory.rss_mb_10k_streams_live_msgs_per_s ?? null, 'memory: the streams were sending');
  // Sections not asked for stay null rather than being invented.
  assert.equal(b.ingest.raw_mps_qos1, null);
  assert.equal(b.training.wps, null);

  const leftover = [...benchDirs()].filter((d) => !before.has(d));
  assert.deepEqual(leftover, [], 'temp dirs removed');
});

test('bench --quick ingest: raw subscriber and daemon both counted, ratio between them', { timeout: 120_000, skip: !existsSync('/usr/sbin/mosquitto') && process.getuid?.() !== 0 ? 'mosquitto missing and not root' : false }, async () => {
  const r = await runBench(['--quick', '--json', '--no-install', '--only', 'ingest'], 110_000);
  assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  const b = JSON.parse(r.stdout.trim()) as BenchResult;
  for (const key of ['raw_mps_qos1', 'daemon_mps_qos1', 'raw_mps_qos0', 'daemon_mps_qos0', 'ratio'] as const) positive(b.ingest[key], `ingest.${key}`);
  assert.ok(Math.abs((b.ingest.ratio ?? 0) - (b.ingest.daemon_mps_qos1 ?? 0) / (b.ingest.raw_mps_qos1 ?? 1)) < 0.01, 'ratio = daemon / raw at QoS 1');
  // The stricter drain figures beside the live headline.
  for (const key of ['ratio_qos1', 'ratio_qos0', 'daemon_cpu_us_per_msg_qos1'] as const) positive(b.ingest.drain?.[key] ?? null, `ingest.drain.${key}`);
});

test('bench --quick expected: the cost of expected values, scoring with and without and InfluxDB points and bytes per window', { timeout: 120_000 }, async () => {
  const r = await runBench(['--quick', '--json', '--no-install', '--only', 'expected'], 110_000);
  assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  const b = JSON.parse(r.stdout.trim()) as BenchResult;
  assert.ok(b.expected, 'the expected section ran');
  positive(b.expected.scoring_wps_off, 'expected.scoring_wps_off');
  positive(b.expected.scoring_wps_on, 'expected.scoring_wps_on');
  const w = b.expected.influx_per_window;
  // A score point alone, one more point with expected values, and one per sample of a hop of 5 with the denoised signal.
  assert.deepEqual([w.scores.points, w.expected.points, w.expected_and_denoised_hop5.points], [1, 2, 7]);
  assert.ok(w.scores.bytes < w.expected.bytes && w.expected.bytes < w.expected_and_denoised_hop5.bytes, JSON.stringify(w));
  assert.equal(b.startup_ms, null, 'sections not asked for stay null');
});
