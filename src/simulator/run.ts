// The simulator's real-time loop: at each tick, every asset's next message is generated and handed to `publish`
// (MQTT for `anomalyd simulate`, anything in-process for the embedded demo). Faults follow the plan in
// simulator/faults.ts; each is reported through `onFault` when it starts. Ticks are scheduled on absolute times, so a
// slow publish delays messages but never changes their timestamps or loses them.
import { encodeF32le } from '../core/f32le';
import { ECG_FAULT_KINDS, PUMP_FAULT_KINDS, nthFault, type FaultPlan, type ScheduledFault, type SimFault } from './faults';
import { ECG_CHANNELS, ecgSamples } from './ecg';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from './pump';
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
}

export interface FaultReport extends ScheduledFault {
  readonly assetId: string;
  readonly topic: string;
  readonly channelName: string | null;
}

export interface SimulationHooks {
  readonly publish: (topic: string, payload: Buffer | string) => Promise<void>;
  readonly onFault?: (fault: FaultReport) => void;
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
  let nextFault = 0;
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
      active.push(f);
      hooks.onFault?.(report(f, assets[f.asset], channels));
    }
    active = active.filter((f) => f.endMs > t0);
    await Promise.all(
      assets.map((asset, i) => {
        const faults: SimFault[] = active.filter((f) => f.asset === i);
        const payload = o.profile === 'pump' ? pumpPayload(pumpSamples(asset.seed, t0, 1, faults, periodMs)[0]) : ecgChunk(asset.seed, t0, samplesPerTick, o.rateHz, faults);
        return hooks.publish(asset.topic, payload);
      }),
    );
    messages += assets.length;
  }
  return { messages, faults: nextFault, startMs, endMs: Math.min(endMs, now()) };
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
