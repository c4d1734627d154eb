// A pump's operating schedule: planned stops and spells at a second (high) duty point, each periodic and
// staggered per asset by a hash of its seed, so the state at time t is a pure function of (asset seed, t) like the
// signals themselves. Off (both periods 0) by default: a pump without a schedule runs at its normal duty point
// all the time, exactly as before schedules existed.
import { uniformAt } from './noise';

export interface PumpSchedule {
  /** Seconds from one planned stop's start to the next (per asset); 0 = no planned stops. */
  readonly plannedStopEveryS: number;
  /** Length of a planned stop (seconds), its ramps included. */
  readonly plannedStopDurationS: number;
  /** Seconds from one spell at the high duty point to the next (per asset); 0 = never. */
  readonly dutyPointEveryS: number;
  /** Length of a spell at the high duty point (seconds), its transitions included. */
  readonly dutyPointDurationS: number;
}

export const NO_SCHEDULE: PumpSchedule = { plannedStopEveryS: 0, plannedStopDurationS: 0, dutyPointEveryS: 0, dutyPointDurationS: 0 };

/** The drive decelerates to standstill over this long at the start of a stop. */
export const STOP_RAMP_DOWN_MS = 5000;
/** ... and accelerates back over this long at its end. */
export const STOP_RAMP_UP_MS = 8000;
/** A change of duty point (speed setpoint and the second discharge valve) takes this long each way. */
export const DUTY_RAMP_MS = 10_000;
/** Shortest planned stop and shortest duty spell the ramps leave room for (seconds). */
export const MIN_STOP_S = 20;
export const MIN_DUTY_S = 30;
/** Thermal time constant of the motor (seconds), as the pump model's temperature lag. */
export const THERMAL_TAU_MS = 900_000;
// Spans older than this no longer warm or cool the motor measurably (e^-8 of their effect).
const LAG_HORIZON_MS = 8 * THERMAL_TAU_MS;

const STOP_KEY = 0x5709;
const DUTY_KEY = 0xd07e;

export interface Span {
  readonly startMs: number;
  readonly endMs: number;
}

interface Periodic {
  readonly everyMs: number;
  readonly durationMs: number;
  readonly offsetMs: number;
}

export function hasSchedule(s: PumpSchedule): boolean {
  return s.plannedStopEveryS > 0 || s.dutyPointEveryS > 0;
}

/** What is wrong with a schedule (empty when it is usable): each duration must fit its period, ramps included. */
export function scheduleProblems(s: PumpSchedule): string[] {
  const out: string[] = [];
  if (s.plannedStopEveryS > 0 && !(s.plannedStopDurationS >= MIN_STOP_S && s.plannedStopDurationS < s.plannedStopEveryS)) {
    out.push(`planned stop duration must be at least ${MIN_STOP_S} s and shorter than its period (${s.plannedStopEveryS} s), got ${s.plannedStopDurationS} s`);
  }
  if (s.dutyPointEveryS > 0 && !(s.dutyPointDurationS >= MIN_DUTY_S && s.dutyPointDurationS < s.dutyPointEveryS)) {
    out.push(`duty point duration must be at least ${MIN_DUTY_S} s and shorter than its period (${s.dutyPointEveryS} s), got ${s.dutyPointDurationS} s`);
  }
  return out;
}

function periodic(seed: number, key: number, everyS: number, durationS: number): Periodic | null {
  if (!(everyS > 0)) return null;
  // Whole seconds, so stops begin on a sample of a 1 Hz pump; the stagger spreads assets over the whole period.
  return { everyMs: everyS * 1000, durationMs: durationS * 1000, offsetMs: Math.floor(uniformAt(seed, key) * everyS) * 1000 };
}

/** The span of this series that starts at or before t, `back` periods earlier. */
function spanAt(p: Periodic, tMs: number, back = 0): Span {
  const k = Math.floor((tMs - p.offsetMs) / p.everyMs) - back;
  const startMs = k * p.everyMs + p.offsetMs;
  return { startMs, endMs: startMs + p.durationMs };
}

const smooth = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** First-order lag (time constant THERMAL_TAU_MS) at t of an input that is 1 on [a, b) and 0 elsewhere. */
function pulseResponse(span: Span, tMs: number): number {
  if (tMs <= span.startMs) return 0;
  const rise = 1 - Math.exp(-(tMs - span.startMs) / THERMAL_TAU_MS);
  if (tMs < span.endMs) return rise;
  return Math.exp(-(tMs - span.endMs) / THERMAL_TAU_MS) - Math.exp(-(tMs - span.startMs) / THERMAL_TAU_MS);
}

function laggedIndicator(p: Periodic, tMs: number): number {
  let sum = 0;
  for (let back = 0; ; back++) {
    const span = spanAt(p, tMs, back);
    if (span.endMs < tMs - LAG_HORIZON_MS) break;
    sum += pulseResponse(span, tMs);
  }
  return Math.min(1, sum);
}

/** The operating state of one pump at one time, as the signal model needs it. */
export interface PumpState {
  /** Fraction of the set speed the drive runs at: 1 running, 0 at standstill, in between on a ramp. */
  readonly run: number;
  /** Blend towards the high duty point: 0 normal, 1 high, in between during a change. */
  readonly high: number;
  /** The motor's thermal view of `run`: the running indicator through the thermal lag (1 = warm as ever). */
  readonly runLag: number;
}

/** A seeded pump's schedule, answering for any time. */
export class AssetSchedule {
  private readonly stops: Periodic | null;
  private readonly duty: Periodic | null;

  constructor(seed: number, s: PumpSchedule) {
    this.stops = periodic(seed, STOP_KEY, s.plannedStopEveryS, s.plannedStopDurationS);
    this.duty = periodic(seed, DUTY_KEY, s.dutyPointEveryS, s.dutyPointDurationS);
  }

  state(tMs: number): PumpState {
    return { run: this.run(tMs), high: this.high(tMs), runLag: this.stops ? 1 - laggedIndicator(this.stops, tMs) : 1 };
  }

  run(tMs: number): number {
    if (!this.stops) return 1;
    const { startMs, endMs } = spanAt(this.stops, tMs);
    if (tMs >= endMs) return 1;
    const down = 1 - smooth((tMs - startMs) / STOP_RAMP_DOWN_MS);
    const up = smooth((tMs - (endMs - STOP_RAMP_UP_MS)) / STOP_RAMP_UP_MS);
    return Math.max(down, up);
  }

  high(tMs: number): number {
    if (!this.duty) return 0;
    const { startMs, endMs } = spanAt(this.duty, tMs);
    if (tMs >= endMs) return 0;
    return Math.min(smooth((tMs - startMs) / DUTY_RAMP_MS), smooth((endMs - tMs) / DUTY_RAMP_MS));
  }

  /** At standstill (the drive off, not ramping). */
  stopped(tMs: number): boolean {
    return this.run(tMs) === 0;
  }

  /** Planned stops (ramps included) that overlap [fromMs, toMs). */
  stopsBetween(fromMs: number, toMs: number): Span[] {
    return this.stops ? spansBetween(this.stops, fromMs, toMs) : [];
  }

  /** Spells at the high duty point (transitions included) that overlap [fromMs, toMs). */
  highSpellsBetween(fromMs: number, toMs: number): Span[] {
    return this.duty ? spansBetween(this.duty, fromMs, toMs) : [];
  }
}

function spansBetween(p: Periodic, fromMs: number, toMs: number): Span[] {
  const out: Span[] = [];
  let span = spanAt(p, fromMs);
  if (span.endMs <= fromMs) span = spanAt(p, fromMs + p.everyMs);
  for (; span.startMs < toMs; span = spanAt(p, span.startMs + p.everyMs)) out.push(span);
  return out;
}
