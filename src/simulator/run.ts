// The simulator's real-time loop: at each tick, every asset's next message is generated and handed to `publish`
// (MQTT for `anomalyd simulate`, anything in-process for the embedded demo). Faults follow the plan in
// simulator/faults.ts; each is reported through `onFault` when it starts. Ticks are scheduled on absolute times, so a
// slow publish delays messages but never changes their timestamps or loses them. A pump schedule (planned stops,
// the high duty point; simulator/schedule.ts) applies to the pump profile; no fault is injected into a pump that is
// stopped at any time during the fault (a fault of a standing machine shows nothing and detects nothing).
import { encodeF32le } from '../core/f32le';
import { ECG_FAULT_KINDS, PUMP_FAULT_KINDS, nthFault, type FaultPlan, type ScheduledFault, type SimFault } from './faults';
import { ECG_CHANNELS, ecgSamples } from './ecg';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from './pump';
import { AssetSchedule, NO_SCHEDULE, hasSchedule, type PumpSchedule, type Span } from './schedule';
import { simAssets, type SimAsset, type SimProfile } from './signals';

export interface SimulationOptions {
  readonly profile: SimProfile;
  readonly lines: number;
  /** Assets per line. */
  readonly assets: number;
  /** pump: messages (samples) per second per asset; ecg: the signal's sampling rate. */
  readonly rateHz: number;
  /** ecg: samples per message (f32le chunk). */
  readonly chunkSamples: number;
  /** Seconds between fault starts (on a random asset); 0 = no faults. */
  readonly anomalyEveryS: number;
  readonly faultDurationS: number;
  readonly seed: number;
  readonly topicPrefix: string;
  /** Stop after this many seconds of simulated data; undefined = until aborted. */
  readonly durationS?: number;
  /** pump: planned stops and spells at the high duty point (default none). */
  readonly schedule?: PumpSchedule;
  /** pump: keep publishing (standstill readings) while a pump is stopped; default true, as a gateway does. */
  readonly publishWhileStopped?: boolean;
}

/** Whether a planned fault is injected: not into a pump that is stopped at any time while it would last. */
export function faultInjected(f: SimFault, schedule: AssetSchedule | null): boolean {
  return schedule === null || schedule.stopsBetween(f.startMs, f.endMs).length === 0;
}

export interface FaultReport extends ScheduledFault {
  readonly assetId: string;
  readonly topic: string;
  readonly channelName: string | null;
}

/** A planned stop or a spell at the high duty point of one pump, reported when it begins (or at the start, if under way). */
export interface ScheduleReport {
  readonly kind: 'planned_stop' | 'high_duty';
  readonly assetId: string;
  readonly topic: string;
  /** Start and end, ramps included. */
  readonly startMs: number;
  readonly endMs: number;
}

export interface SimulationHooks {
  readonly publish: (topic: string, payload: Buffer | string) => Promise<void>;
  readonly onFault?: (fault: FaultReport) => void;
  readonly onSchedule?: (event: ScheduleReport) => void;
  readonly signal?: AbortSignal;
  /** Wall clock (ms); default Date.now. */
  readonly now?: () => number;
}

export interface SimulationSummary {
  readonly messages: number;
  readonly faults: number;
  readonly startMs: number;
  readonly endMs: number;
}

export async function runSimulation(o: SimulationOptions, hooks: SimulationHooks): Promise<SimulationSummary> {
  const now = hooks.now ?? Date.now;
  const assets = simAssets(o.profile, o.lines, o.assets, o.seed, o.topicPrefix);
  const channels: readonly string[] = o.profile === 'pump' ? PUMP_CHANNELS : ECG_CHANNELS;
  const samplesPerTick = o.profile === 'pump' ? 1 : o.chunkSamples;
  const periodMs = 1000 / o.rateHz;
  const tickMs = samplesPerTick * periodMs;
  // Whole ticks of the epoch, so timestamps are round numbers and two runs line up.
  const startMs = Math.ceil(now() / tickMs) * tickMs;
  const endMs = o.durationS === undefined ? Infinity : startMs + o.durationS * 1000;
  const plan: FaultPlan | null =
    o.anomalyEveryS > 0
      ? { seed: o.seed, assets: assets.length, channels: channels.length, kinds: o.profile === 'pump' ? PUMP_FAULT_KINDS : ECG_FAULT_KINDS, startMs, everyMs: o.anomalyEveryS * 1000, durationMs: o.faultDurationS * 1000 }
      : null;
  const schedule = o.profile === 'pump' ? (o.schedule ?? NO_SCHEDULE) : NO_SCHEDULE;
  const plans = assets.map((a) => (hasSchedule(schedule) ? new AssetSchedule(a.seed, schedule) : null));
  const silentWhenStopped = o.publishWhileStopped === false;
  let nextFault = 0;
  let injected = 0;
  let active: ScheduledFault[] = [];
  let messages = 0;
  for (let tick = 0; ; tick++) {
    const t0 = startMs + tick * tickMs;
    if (t0 >= endMs || hooks.signal?.aborted) break;
    // A chunk is published once its last sample exists.
    await sleepUntil(t0 + (samplesPerTick - 1) * periodMs, now, hooks.signal);
    if (hooks.signal?.aborted) break;
    while (plan && nthFault(plan, nextFault).startMs <= t0 + tickMs - periodMs) {
      const f = nthFault(plan, nextFault++);
      if (!faultInjected(f, plans[f.asset])) continue;
      injected++;
      active.push(f);
      hooks.onFault?.(report(f, assets[f.asset], channels));
    }
    active = active.filter((f) => f.endMs > t0);
    if (hooks.onSchedule) reportSchedule(assets, plans, t0, t0 + tickMs, tick === 0, hooks.onSchedule);
    let sent = 0;
    await Promise.all(
      assets.map((asset, i) => {
        if (silentWhenStopped && plans[i]?.stopped(t0)) return Promise.resolve();
        sent++;
        const faults: SimFault[] = active.filter((f) => f.asset === i);
        const payload = o.profile === 'pump' ? pumpPayload(pumpSamples(asset.seed, t0, 1, faults, periodMs, schedule)[0]) : ecgChunk(asset.seed, t0, samplesPerTick, o.rateHz, faults);
        return hooks.publish(asset.topic, payload);
      }),
    );
    messages += sent;
  }
  return { messages, faults: injected, startMs, endMs: Math.min(endMs, now()) };
}

/** Reports the stops and spells that begin in [fromMs, toMs), and at the first tick those already under way. */
function reportSchedule(assets: readonly SimAsset[], plans: readonly (AssetSchedule | null)[], fromMs: number, toMs: number, first: boolean, on: (e: ScheduleReport) => void): void {
  plans.forEach((plan, i) => {
    if (!plan) return;
    const report = (kind: ScheduleReport['kind'], spans: readonly Span[]): void => {
      for (const span of spans) if (first || span.startMs >= fromMs) on({ kind, assetId: assets[i].id, topic: assets[i].topic, startMs: span.startMs, endMs: span.endMs });
    };
    report('planned_stop', plan.stopsBetween(fromMs, toMs));
    report('high_duty', plan.highSpellsBetween(fromMs, toMs));
  });
}

function ecgChunk(seed: number, t0: number, n: number, rateHz: number, faults: readonly SimFault[]): Buffer {
  const values = new Float64Array(n);
  ecgSamples(seed, t0, n, rateHz, faults).forEach((s, i) => (values[i] = s.values[0]));
  return encodeF32le(values, t0);
}

function report(f: ScheduledFault, asset: SimAsset, channels: readonly string[]): FaultReport {
  return { ...f, assetId: asset.id, topic: asset.topic, channelName: f.channel === undefined ? null : channels[f.channel] };
}

function sleepUntil(ms: number, now: () => number, signal?: AbortSignal): Promise<void> {
  const wait = ms - now();
  if (wait <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    signal?.addEventListener('abort', done, { once: true });
  });
}
