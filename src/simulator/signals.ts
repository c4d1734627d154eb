// The simulator's public face: seeded, pure signal generators (usable in-process without MQTT, e.g. to train the
// demo models or to feed the embedded demo) and the naming of simulated assets and topics.
import { hash } from './noise';

export { HIGH_DUTY_FLOW_FACTOR, HIGH_DUTY_HEAD_FACTOR, PUMP_CHANNELS, highDutySpeed, pumpPayload, pumpSamples } from './pump';
export { AssetSchedule, NO_SCHEDULE, hasSchedule, scheduleProblems, type PumpSchedule, type PumpState, type Span } from './schedule';
export { ECG_CHANNELS, ECG_RATE_HZ, ecgBeats, ecgSamples } from './ecg';
export {
  ECG_FAULT_KINDS,
  PUMP_FAULT_KINDS,
  SENSOR_FAULT_KINDS,
  faultProgress,
  faultsBefore,
  nthFault,
  type EcgFaultKind,
  type FaultKind,
  type FaultPlan,
  type PumpFaultKind,
  type ScheduledFault,
  type SimFault,
} from './faults';
export { encodeF32le } from '../core/f32le';

export type SimProfile = 'pump' | 'ecg';

export interface SimAsset {
  /** 1-based line and asset numbers. */
  readonly line: number;
  readonly index: number;
  /** Stream id as the example configs map it: `line1/pump3`. */
  readonly id: string;
  readonly topic: string;
  /** Seed of this asset's signal. */
  readonly seed: number;
}

/** The seed of one asset's signal, derived from the run seed so assets differ but runs repeat. */
export function assetSeed(seed: number, line: number, asset: number): number {
  return hash(seed, line, asset);
}

/** `assets` assets on each of `lines` lines: topics `<prefix>/line<L>/<pump|ecg><N>/telemetry`. */
export function simAssets(profile: SimProfile, lines: number, assets: number, seed: number, topicPrefix = 'plant'): SimAsset[] {
  const out: SimAsset[] = [];
  for (let l = 1; l <= lines; l++) {
    for (let a = 1; a <= assets; a++) {
      const id = `line${l}/${profile}${a}`;
      out.push({ line: l, index: a, id, topic: `${topicPrefix}/${id}/telemetry`, seed: assetSeed(seed, l, a) });
    }
  }
  return out;
}
