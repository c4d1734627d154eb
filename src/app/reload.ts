// Config reload (SIGHUP), the parts that decide and the parts that swap. What applies live and what keeps its
// running value until a restart is RELOAD_POLICY: the sink and source registries say it for their sections,
// reloadPolicy.ts for the rest. Live: log level, models, detection settings (window, calibration, alerting),
// auto_learn, subscriptions and streams, sinks, the OPC UA input (its source replaced when its connection or
// items change: daemon.ts, opcuaSource.ts), shutdown_grace_ms (and csv, read offline only). Restart-only:
// the HTTP listener, the MQTT connection (URL, identity, credentials, TLS, QoS...), state_dir, queues,
// batching, limits, shard, the inference backend, the simulator, maintenance, the log format and the
// auto-learning window count, because each is built into something that would have to be torn down (a
// listening socket, a broker session, files under state_dir, pre-sized queues).
import { withOpcuaEntries } from '../config/opcuaStreams';
import type { Config } from '../config/schema';
import type { Sink } from '../sinks/sink';
import { reloadPolicy } from './reloadPolicy';
import { SINK_KINDS } from './sinkRegistry';
import { SOURCE_KINDS } from './sourceRegistry';
import type { PlannedSink } from './sinks';

/** Every top-level section's policy; a section not in it (none, a unit test checks) waits for a restart. */
export const RELOAD_POLICY = reloadPolicy([...SINK_KINDS, ...SOURCE_KINDS]);

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
    const policy = RELOAD_POLICY.get(key);
    if (!policy?.live) {
      merged[key] = was;
      restartNeeded.push(...changedPaths(key, was, now));
      continue;
    }
    let value = now;
    for (const inner of policy.restartOnly) {
      restartNeeded.push(...changedPaths(`${key}.${inner}`, valueAt(was, inner), valueAt(now, inner)));
      value = withValueAt(value, inner, valueAt(was, inner));
    }
    merged[key] = value;
    applied.push(...changedPaths(key, was, value));
  }
  // The entries OPC UA subscriptions make in `subscriptions` follow the opcua section in force (opcuaStreams.ts).
  const config = merged as unknown as Config;
  return { config: { ...config, subscriptions: withOpcuaEntries(config.subscriptions, config.opcua) }, restartNeeded, applied };
}

/** The value at a dotted path of mapping keys; undefined where the path leaves the mappings. */
function valueAt(v: unknown, dotted: string): unknown {
  let at = v;
  for (const k of dotted.split('.')) {
    if (!isMapping(at)) return undefined;
    at = at[k];
  }
  return at;
}

/** A copy of `v` (not changed: configs are frozen) with `dotted` set to `value` (removed when undefined). */
function withValueAt(v: unknown, dotted: string, value: unknown): unknown {
  if (!isMapping(v)) return v;
  const [k = dotted, ...rest] = dotted.split('.');
  const inner = rest.length === 0 ? value : withValueAt(v[k], rest.join('.'), value);
  const copy: Record<string, unknown> = { ...v };
  if (inner === undefined) delete copy[k];
  else copy[k] = inner;
  return copy;
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
