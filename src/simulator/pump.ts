// A centrifugal pump on a variable-speed drive, as a pure function of (asset seed, time).
//
// The speed follows process load cycles (two slow sinusoids plus smooth random variation). The pump affinity
// laws tie the channels together: flow ~ speed, pressure ~ speed^2 (+ static head), shaft power and so motor
// current ~ speed^3. Vibration RMS grows with speed. The motor temperature follows the load through a thermal
// lag of about 15 minutes on top of a daily ambient cycle. Every channel gets sensor noise. Faults (simulator/faults.ts)
// then change the physics (bearing wear, cavitation) or one sensor (stuck, drifting, spiking).
//
// A schedule (simulator/schedule.ts) adds planned stops and spells at a second, high duty point. The high duty point
// is the speed setpoint raised to about 1.1 of nominal (55 Hz on a 50 Hz motor) with a second discharge valve open:
// the system curve is flatter, so at a given speed the pump delivers more flow at less head, further right on its
// curve. The affinity laws still tie flow, head and power to the speed; shaft power follows flow x head.
import { createRng } from '../core/random';
import type { Sample } from '../core/types';
import { SENSOR_FAULT_KINDS, faultProgress, isActive, type SimFault } from './faults';
import { gaussianAt, uniformAt, valueNoise } from './noise';
import { AssetSchedule, NO_SCHEDULE, hasSchedule, type PumpSchedule, type PumpState } from './schedule';

export const PUMP_CHANNELS = ['vib_x_rms', 'vib_y_rms', 'vib_z_rms', 'motor_current_a', 'voltage_v', 'pressure_bar', 'flow_m3h', 'temperature_c'] as const;
const [VX, VY, VZ, CURRENT, VOLTAGE, PRESSURE, FLOW, TEMP] = [0, 1, 2, 3, 4, 5, 6, 7];
const C = PUMP_CHANNELS.length;
const THERMAL_TAU_S = 900;
const LOAD_KNOT_S = 45;

interface PumpParams {
  readonly seed: number;
  readonly p1: number;
  readonly phi1: number;
  readonly p2: number;
  readonly phi2: number;
  readonly dayPhase: number;
  readonly flowNominal: number;
  readonly pressureNominal: number;
  readonly staticHead: number;
  readonly currentIdle: number;
  readonly currentLoad: number;
  readonly vib: readonly [number, number, number];
  readonly ambient: number;
  readonly tempRise: number;
}

const paramCache = new Map<number, PumpParams>();

function params(seed: number): PumpParams {
  let p = paramCache.get(seed);
  if (p) return p;
  const r = createRng(seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * r();
  p = {
    seed,
    p1: between(900, 2400),
    phi1: between(0, 2 * Math.PI),
    p2: between(120, 300),
    phi2: between(0, 2 * Math.PI),
    dayPhase: between(0, 2 * Math.PI),
    flowNominal: between(80, 140),
    pressureNominal: between(4, 7),
    staticHead: between(0.3, 0.8),
    currentIdle: between(8, 12),
    currentLoad: between(25, 40),
    vib: [between(1.2, 2.0), between(1.0, 1.8), between(0.6, 1.2)],
    ambient: between(22, 28),
    tempRise: between(18, 30),
  };
  if (paramCache.size > 10_000) paramCache.clear();
  paramCache.set(seed, p);
  return p;
}

/** Relative speed in [0.35, 1] at time t (seconds). */
function speed(p: PumpParams, t: number): number {
  const s = 0.72 + 0.14 * Math.sin((2 * Math.PI * t) / p.p1 + p.phi1) + 0.05 * Math.sin((2 * Math.PI * t) / p.p2 + p.phi2) + 0.06 * valueNoise(p.seed, t / LOAD_KNOT_S);
  return Math.min(1, Math.max(0.35, s));
}

/** The speed seen through a first-order thermal lag: exact for the sinusoids, a weighted past average for the rest. */
function laggedSpeed(p: PumpParams, t: number): number {
  const lag = (period: number, amp: number, phase: number): number => {
    const wt = (2 * Math.PI * THERMAL_TAU_S) / period;
    return (amp / Math.sqrt(1 + wt * wt)) * Math.sin((2 * Math.PI * t) / period + phase - Math.atan(wt));
  };
  let noise = 0;
  let weights = 0;
  for (let j = 0; j < 8; j++) {
    const w = Math.exp(-j / 4);
    noise += w * valueNoise(p.seed, (t - (j * THERMAL_TAU_S) / 4) / LOAD_KNOT_S);
    weights += w;
  }
  return 0.72 + lag(p.p1, 0.14, p.phi1) + lag(p.p2, 0.05, p.phi2) + (0.06 * noise) / weights;
}

/** The fault-free sample at time tMs (ms), into out[0..C). */
function cleanSample(p: PumpParams, tMs: number, out: Float64Array): void {
  const t = tMs / 1000;
  const key = Math.round(tMs);
  const n = (c: number): number => gaussianAt(p.seed, c, key);
  const s = speed(p, t);
  out[FLOW] = p.flowNominal * s * (1 + 0.01 * n(FLOW));
  out[PRESSURE] = (p.staticHead + p.pressureNominal * s * s) * (1 + 0.012 * n(PRESSURE));
  out[CURRENT] = p.currentIdle + p.currentLoad * s * s * s + 0.15 * n(CURRENT);
  out[VOLTAGE] = 400 + 3 * valueNoise(p.seed ^ 0x7011, t / 300) - 0.04 * (out[CURRENT] - p.currentIdle) + 0.8 * n(VOLTAGE);
  const vibScale = 0.55 + 0.45 * s * s;
  for (const c of [VX, VY, VZ]) out[c] = p.vib[c] * vibScale * (1 + 0.05 * n(c));
  const ls = laggedSpeed(p, t);
  out[TEMP] = p.ambient + 2 * Math.sin((2 * Math.PI * t) / 86_400 + p.dayPhase) + p.tempRise * ls * ls * ls + 0.1 * n(TEMP);
}

/** Speed setpoint at the high duty point for a normal-duty speed s: about 1.1, following the load cycles less. */
export function highDutySpeed(s: number): number {
  return 1.1 + 0.35 * (s - 0.72);
}
/** At the high duty point: flow and head at a given speed, relative to the normal system curve. */
export const HIGH_DUTY_FLOW_FACTOR = 1.4;
export const HIGH_DUTY_HEAD_FACTOR = 0.7;
// Running off its best-efficiency point, the pump vibrates a little more than its speed alone explains.
const HIGH_DUTY_VIBRATION_FACTOR = 1.12;
// Sensor readings of a pump at standstill: flow meter and pressure transmitter zero noise, vibration noise floor
// (mm/s), the current transducer's offset noise (A). Never exactly repeated, so a stopped pump is not a stuck sensor.
const STOPPED_FLOW_NOISE = 0.05;
const STOPPED_PRESSURE_NOISE = 0.004;
const VIBRATION_FLOOR = 0.02;
const STOPPED_CURRENT_NOISE = 0.03;

/** The fault-free sample of a scheduled pump in state `st` at time tMs, into out[0..C). */
function scheduledSample(p: PumpParams, st: PumpState, tMs: number, out: Float64Array): void {
  const t = tMs / 1000;
  const key = Math.round(tMs);
  const n = (c: number): number => gaussianAt(p.seed, c, key);
  const floorNoise = (c: number): number => Math.abs(gaussianAt(p.seed, 200 + c, key));
  const normal = speed(p, t);
  const set = normal + st.high * (highDutySpeed(normal) - normal);
  const qf = 1 + st.high * (HIGH_DUTY_FLOW_FACTOR - 1);
  const hf = 1 + st.high * (HIGH_DUTY_HEAD_FACTOR - 1);
  const s = set * st.run;
  const idle = 1 - st.run;
  // The drive keeps magnetising the motor until the shaft has nearly stopped, and from the first moment of a start.
  const drive = Math.min(1, 4 * st.run);
  out[FLOW] = p.flowNominal * s * qf * (1 + 0.01 * n(FLOW)) + idle * STOPPED_FLOW_NOISE * floorNoise(FLOW);
  out[PRESSURE] = (p.staticHead * st.run + p.pressureNominal * s * s * hf) * (1 + 0.012 * n(PRESSURE)) + idle * STOPPED_PRESSURE_NOISE * floorNoise(PRESSURE);
  out[CURRENT] = drive * (p.currentIdle + 0.15 * n(CURRENT)) + p.currentLoad * s * s * s * qf * hf + (1 - drive) * STOPPED_CURRENT_NOISE * floorNoise(CURRENT);
  out[VOLTAGE] = 400 + 3 * valueNoise(p.seed ^ 0x7011, t / 300) - 0.04 * (out[CURRENT] - p.currentIdle) + 0.8 * n(VOLTAGE);
  const vibScale = (0.55 + 0.45 * s * s) * (1 + st.high * (HIGH_DUTY_VIBRATION_FACTOR - 1)) * st.run;
  for (const c of [VX, VY, VZ]) out[c] = p.vib[c] * vibScale * (1 + 0.05 * n(c)) + idle * VIBRATION_FLOOR * (1 + 0.5 * floorNoise(c));
  // A stop lets the motor cool towards ambient through its thermal lag. The duty point does not change its
  // temperature: the motor is sized and cooled for the high duty point (its fan's airflow grows with the load it
  // carries). A warmer motor at the high point would take some 45 minutes to settle after every change of duty
  // point, and each mode's model would see the other's temperatures for that long (measured: models/pump then
  // alerts on the cooling after a spell, models/pump_high on the warming at its start).
  const ls = laggedSpeed(p, t);
  out[TEMP] = p.ambient + 2 * Math.sin((2 * Math.PI * t) / 86_400 + p.dayPhase) + p.tempRise * ls * ls * ls * st.runLag + 0.1 * n(TEMP);
}

type SampleAt = (tMs: number, out: Float64Array) => void;

function applyFault(p: PumpParams, f: SimFault, tMs: number, out: Float64Array, sampleAt: SampleAt): void {
  const prog = faultProgress(f, tMs);
  const key = Math.round(tMs);
  const ch = f.channel ?? 0;
  switch (f.kind) {
    case 'bearing_wear': {
      const g = prog ** 1.5;
      out[VX] *= 1 + 2.5 * g + 0.15 * g * Math.abs(gaussianAt(p.seed, 101, key));
      out[VY] *= 1 + 1.6 * g;
      out[VZ] *= 1 + 1.2 * g;
      out[TEMP] += 4 * g;
      break;
    }
    case 'cavitation': {
      // Ramps in over 20 s: noisy, oscillating discharge pressure, lower flow, broadband vibration.
      const a = Math.min(1, (tMs - f.startMs) / 20_000);
      out[PRESSURE] *= 1 - 0.12 * a + 0.08 * a * Math.sin((2 * Math.PI * tMs) / 7000) + 0.06 * a * gaussianAt(p.seed, 102, key);
      out[FLOW] *= 1 - 0.1 * a + 0.04 * a * gaussianAt(p.seed, 103, key);
      const v = 1 + 0.8 * a + 0.3 * a * Math.abs(gaussianAt(p.seed, 104, key));
      out[VX] *= v;
      out[VY] *= v;
      out[VZ] *= v;
      out[CURRENT] *= 1 - 0.04 * a;
      break;
    }
    case 'stuck_sensor': {
      const at = new Float64Array(C);
      sampleAt(f.startMs, at);
      out[ch] = at[ch];
      break;
    }
    case 'sensor_drift': {
      const sign = uniformAt(p.seed, 105, f.startMs) < 0.5 ? -1 : 1;
      out[ch] *= 1 + sign * 0.35 * prog;
      break;
    }
    case 'spikes':
      if (uniformAt(p.seed, 106, key) < 0.12) out[ch] *= 2.5 + 2 * uniformAt(p.seed, 107, key);
      break;
    default:
      break; // ECG faults do not apply to a pump.
  }
}

/**
 * `count` samples of one pump from fromMs, periodMs apart, in PUMP_CHANNELS order. `faults` are this asset's
 * faults; sensor faults are applied after the machine faults (a stuck sensor stays flat whatever the pump does).
 * `schedule` adds planned stops and spells at the high duty point; without one the pump runs at its normal duty
 * point throughout.
 */
export function pumpSamples(assetSeed: number, fromMs: number, count: number, faults: readonly SimFault[] = [], periodMs = 1000, schedule: PumpSchedule = NO_SCHEDULE): Sample[] {
  const p = params(assetSeed >>> 0);
  const plan = hasSchedule(schedule) ? new AssetSchedule(assetSeed >>> 0, schedule) : null;
  const sampleAt: SampleAt = plan ? (tMs, out) => scheduledSample(p, plan.state(tMs), tMs, out) : (tMs, out) => cleanSample(p, tMs, out);
  const values = new Float64Array(count * C);
  const ordered = [...faults].sort((a, b) => Number(SENSOR_FAULT_KINDS.has(a.kind)) - Number(SENSOR_FAULT_KINDS.has(b.kind)));
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const ts = fromMs + i * periodMs;
    const out = values.subarray(i * C, (i + 1) * C);
    sampleAt(ts, out);
    for (const f of ordered) if (isActive(f, ts)) applyFault(p, f, ts, out, sampleAt);
    samples.push({ ts, values: out });
  }
  return samples;
}

/** The JSON payload the simulator publishes for one pump sample: {"ts": ms, "<channel>": value, ...}. */
export function pumpPayload(sample: Sample): string {
  const doc: Record<string, number> = { ts: Math.round(sample.ts) };
  PUMP_CHANNELS.forEach((name, c) => (doc[name] = Math.round(sample.values[c] * 10_000) / 10_000));
  return JSON.stringify(doc);
}
