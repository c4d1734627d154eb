// Config reload (SIGHUP), the parts that decide and the parts that swap. What applies live: log level, models,
// detection settings (window, calibration, alerting), subscriptions and streams, sinks and shutdown_grace_ms.
// What keeps its running value until a restart: the HTTP listener, the MQTT connection (URL, identity,
// credentials, TLS, QoS...), state_dir, queues, batching, limits, the inference backend, the simulator, the log
// format and the auto-learning window count, because each is built into something that would have to be torn
// down (a listening socket, a broker session, files under state_dir, pre-sized queues).
import type { Config } from '../config/schema';
import type { Sink } from '../sinks/sink';
import type { PlannedSink } from './sinks';

/** Top-level sections that apply live; every other section (including ones added later) needs a restart. */
// `csv` only concerns the offline commands, so a change to it has nothing to wait for.
const LIVE_SECTIONS: ReadonlySet<string> = new Set(['log', 'models', 'defaults', 'auto_learn', 'subscriptions', 'streams', 'sinks', 'shutdown_grace_ms', 'csv']);

export interface ReloadPlan {
  /** The new config with every restart-only setting kept at its running value: what the daemon applies. */
  readonly config: Config;
  /** Dotted names of changed settings that keep their running value until a restart. */
  readonly restartNeeded: readonly string[];
  /** Dotted names of the changed settings that apply now. */
  readonly applied: readonly string[];
}

/** What a reload from `running` to `next` applies now and what waits for a restart. */
export function planReload(running: Config, next: Config): ReloadPlan {
  const restartNeeded: string[] = [];
  const applied: string[] = [];
  const merged: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const key of keys) {
    const was = (running as Record<string, unknown>)[key];
    const now = (next as Record<string, unknown>)[key];
    if (key === 'log') {
      const r = running.log;
      merged[key] = { ...next.log, format: r.format };
      if (next.log.format !== r.format) restartNeeded.push('log.format');
      if (next.log.level !== r.level) applied.push('log.level');
    } else if (key === 'defaults') {
      // auto_learn_windows sizes the collection of streams already learning; the rest applies to later windows.
      const windows = running.defaults.training.auto_learn_windows;
      merged[key] = { ...next.defaults, training: { ...next.defaults.training, auto_learn_windows: windows } };
      if (next.defaults.training.auto_learn_windows !== windows) restartNeeded.push('defaults.training.auto_learn_windows');
      applied.push(...changedPaths('defaults', running.defaults, next.defaults).filter((p) => p !== 'defaults.training.auto_learn_windows'));
    } else if (LIVE_SECTIONS.has(key)) {
      merged[key] = now;
      applied.push(...changedPaths(key, was, now));
    } else {
      merged[key] = was;
      restartNeeded.push(...changedPaths(key, was, now));
    }
  }
  return { config: merged as unknown as Config, restartNeeded, applied };
}

/**
 * Where two values differ, as dotted paths: objects are compared key by key down to `depth` levels (deeper
 * differences are named by their ancestor), anything else (lists included) as a whole.
 */
export function changedPaths(prefix: string, a: unknown, b: unknown, depth = 2): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (depth === 0 || !isMapping(a) || !isMapping(b)) return [prefix];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => changedPaths(`${prefix}.${k}`, a[k], b[k], depth - 1));
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A running sink with the settings it was built from. */
export interface ActiveSink {
  readonly key: string;
  readonly settings: string;
  readonly sink: Sink;
}

export interface SinkSwap {
  /** Sinks in the order of the plan: kept ones and new (not yet started) ones. */
  readonly sinks: readonly ActiveSink[];
  readonly started: readonly ActiveSink[];
  readonly stopped: readonly ActiveSink[];
}

/**
 * Which sinks a reload keeps, builds and retires. Nothing is started or stopped here: the caller first points
 * the pipeline at `sinks` (new sinks hold what they are given until started), then stops `stopped` (each
 * flushes, spools or persists its outbox), then starts `started` (which load what the old ones persisted: a
 * webhook of the same name reads the same outbox, a new InfluxDB sink the same spool), so no point or notice is
 * lost and no two sinks share a file.
 */
export function planSinkSwap(current: readonly ActiveSink[], planned: readonly PlannedSink[]): SinkSwap {
  const byKey = new Map(current.map((a) => [a.key, a]));
  const sinks: ActiveSink[] = [];
  const started: ActiveSink[] = [];
  const stopped: ActiveSink[] = [];
  for (const p of planned) {
    const was = byKey.get(p.key);
    byKey.delete(p.key);
    if (was && was.settings === p.settings) {
      sinks.push(was);
      continue;
    }
    if (was) stopped.push(was);
    const fresh = { key: p.key, settings: p.settings, sink: p.build() };
    sinks.push(fresh);
    started.push(fresh);
  }
  stopped.push(...byKey.values());
  return { sinks, started, stopped };
}
