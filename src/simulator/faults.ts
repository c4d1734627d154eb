// Fault plans for the simulator. The n-th fault is a pure function of (seed, n), so a plan needs no state and a
// test can recompute exactly what `anomalyd simulate` injected.
import { hash, uniformAt } from './noise';

export type PumpFaultKind = 'bearing_wear' | 'cavitation' | 'stuck_sensor' | 'sensor_drift' | 'spikes';
export type EcgFaultKind = 'pvc' | 'missed_beat';
export type FaultKind = PumpFaultKind | EcgFaultKind;

export const PUMP_FAULT_KINDS: readonly PumpFaultKind[] = ['bearing_wear', 'cavitation', 'stuck_sensor', 'sensor_drift', 'spikes'];
export const ECG_FAULT_KINDS: readonly EcgFaultKind[] = ['pvc', 'missed_beat'];
/** Fault kinds that affect one sensor (channel) rather than the machine. */
export const SENSOR_FAULT_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>(['stuck_sensor', 'sensor_drift', 'spikes']);

/** A fault on one asset: active for startMs <= t < endMs. */
export interface SimFault {
  readonly kind: FaultKind;
  readonly startMs: number;
  readonly endMs: number;
  /** Channel index, for sensor faults. */
  readonly channel?: number;
}

export interface ScheduledFault extends SimFault {
  /** Index of the asset in the plan's asset list. */
  readonly asset: number;
}

export interface FaultPlan {
  readonly seed: number;
  readonly assets: number;
  readonly channels: number;
  readonly kinds: readonly FaultKind[];
  /** Time of the simulation start; the first fault starts everyMs later, so every asset is seen normal first. */
  readonly startMs: number;
  readonly everyMs: number;
  readonly durationMs: number;
}

/** The n-th fault (0-based) of a plan. */
export function nthFault(plan: FaultPlan, n: number): ScheduledFault {
  const seed = hash(plan.seed, 0xfa017, n);
  const kind = plan.kinds[Math.floor(uniformAt(seed, 1) * plan.kinds.length)];
  const startMs = plan.startMs + (n + 1) * plan.everyMs;
  return {
    asset: Math.floor(uniformAt(seed, 2) * plan.assets),
    kind,
    startMs,
    endMs: startMs + plan.durationMs,
    ...(SENSOR_FAULT_KINDS.has(kind) ? { channel: Math.floor(uniformAt(seed, 3) * plan.channels) } : {}),
  };
}

/** The plan's faults that start before `endMs`, in order (none when the plan injects none: everyMs 0). */
export function faultsBefore(plan: FaultPlan, endMs: number): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  if (!(plan.everyMs > 0)) return out;
  for (let n = 0; ; n++) {
    const f = nthFault(plan, n);
    if (f.startMs >= endMs) return out;
    out.push(f);
  }
}

/** Progress through a fault in [0, 1]. */
export function faultProgress(f: SimFault, t: number): number {
  return Math.min(1, Math.max(0, (t - f.startMs) / Math.max(1, f.endMs - f.startMs)));
}

export function isActive(f: SimFault, t: number): boolean {
  return t >= f.startMs && t < f.endMs;
}
