// Rhythm of a stream: a causal event detector on one channel (a heartbeat's QRS, a machine's cycle or rotation
// start) and how premature the latest event came against the stream's own recent rhythm. A premature beat (a
// PVC, an atrial premature beat) can look much like a normal one to an autoencoder that sees a 1 s window, but
// comes early; a cycle that suddenly runs short or long is the plant analogue. The window's reconstruction score
// is multiplied by prematurity^-exponent (rhythmFactor), so the calibrated threshold and everything after it
// judge the joined score (docs/design.md, "Rhythm").
//
// The detector is the slope envelope of Pan-Tompkins style QRS detectors, kept simple and causal: the squared
// slope over `slopeSteps` samples, a moving average over `smoothingSteps`, and an event where that envelope rises
// through `thresholdFraction` x its running peak (the peak halves every `peakHalfLifeMs`), at most one per
// `refractoryMs`. O(1) a sample, a few small rings, no allocation after construction.

/** Fewer intervals than this in the history: no rhythm known yet, factor 1. */
export const MIN_HISTORY = 4;

export interface RhythmOptions {
  /** Index of the channel the events are found on. */
  readonly channel: number;
  /** Samples the slope is taken over (x[n] - x[n - slopeSteps]). */
  readonly slopeSteps: number;
  /** Samples the squared slope is averaged over. */
  readonly smoothingSteps: number;
  /** An event when the envelope rises through this fraction of its running peak. */
  readonly thresholdFraction: number;
  /** The running peak halves in this time (ms). */
  readonly peakHalfLifeMs: number;
  /** No second event within this time after one (ms). */
  readonly refractoryMs: number;
  /** Intervals whose median is the stream's recent rhythm. */
  readonly historyEvents: number;
}

/** How prematurity joins a window's score (model/detector.ts applies it). */
export interface RhythmScoring {
  /** The score is multiplied by prematurity^-exponent. */
  readonly exponent: number;
  /** Late events (prematurity > 1): 'lower' the score by the same law, or 'ignore' them (factor 1). */
  readonly late: RhythmLate;
}

export const RHYTHM_LATE = ['lower', 'ignore'] as const;
export type RhythmLate = (typeof RHYTHM_LATE)[number];

/** Every violated tracker option (the WindowBuffer throws the first, config loading and manifests report them). */
export function rhythmOptionProblems(o: RhythmOptions, channels: number): { option: keyof RhythmOptions; message: string; got: unknown }[] {
  const out: { option: keyof RhythmOptions; message: string; got: unknown }[] = [];
  const int = (option: keyof RhythmOptions, min: number, max: number): void => {
    const v = o[option];
    if (!(Number.isInteger(v) && v >= min && v <= max)) out.push({ option, message: `must be an integer from ${min} to ${max}`, got: v });
  };
  int('channel', 0, channels - 1);
  int('slopeSteps', 1, 10_000);
  int('smoothingSteps', 1, 100_000);
  int('historyEvents', MIN_HISTORY, 10_000);
  if (!(o.thresholdFraction > 0 && o.thresholdFraction < 1)) out.push({ option: 'thresholdFraction', message: 'must be in (0, 1)', got: o.thresholdFraction });
  if (!(o.peakHalfLifeMs > 0 && Number.isFinite(o.peakHalfLifeMs))) out.push({ option: 'peakHalfLifeMs', message: 'must be a finite number > 0', got: o.peakHalfLifeMs });
  if (!(o.refractoryMs >= 0 && Number.isFinite(o.refractoryMs))) out.push({ option: 'refractoryMs', message: 'must be a finite number >= 0', got: o.refractoryMs });
  return out;
}

/** The tracker options in a fixed order: what a state records of the tracker that made it. */
const OPTION_ORDER = ['channel', 'slopeSteps', 'smoothingSteps', 'thresholdFraction', 'peakHalfLifeMs', 'refractoryMs', 'historyEvents'] as const satisfies readonly (keyof RhythmOptions)[];

/** The running values a state holds before the tracker's options. */
const RUNNING_SCALARS = 11;

/** Whether two trackers find the same events (a tracker of either can carry on the other's history). */
export function sameRhythmOptions(a: RhythmOptions | undefined, b: RhythmOptions | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return OPTION_ORDER.every((k) => a[k] === b[k]);
}

/** What survives a restart: every ring and running value (restore() continues as if never stopped). */
export interface RhythmState {
  /**
   * [lastTs, lastEventTs, peak, envelopeSum, armed (0/1), raw count, squared count, intervals count, raw head,
   * squared head, intervals head], then the options of the tracker that made it (OPTION_ORDER; absent in a state
   * saved before they were recorded).
   */
  readonly scalars: Float64Array;
  readonly raw: Float64Array;
  readonly squared: Float64Array;
  readonly intervals: Float64Array;
}

export class RhythmTracker {
  private readonly raw: Float64Array;
  private readonly squared: Float64Array;
  /** The newest historyEvents + 1 intervals (ms): the latest one and the history it is judged against. */
  private readonly intervals: Float64Array;
  private readonly sorted: Float64Array;
  private rawCount = 0;
  private rawHead = 0;
  private sqCount = 0;
  private sqHead = 0;
  private sqSum = 0;
  private ivCount = 0;
  private ivHead = 0;
  private lastTs = Number.NaN;
  private lastEventTs = Number.NaN;
  private peak = 0;
  private armed = true;
  private cached = Number.NaN;
  /** Events found since construction (not saved: a count for tests and telemetry). */
  events = 0;

  constructor(readonly options: RhythmOptions) {
    this.raw = new Float64Array(options.slopeSteps + 1);
    this.squared = new Float64Array(options.smoothingSteps);
    this.intervals = new Float64Array(options.historyEvents + 1);
    this.sorted = new Float64Array(options.historyEvents);
  }

  /** One sample of the stream (its values in channel order); NaN on the channel is skipped. Returns true on an event. */
  push(ts: number, values: ArrayLike<number>): boolean {
    const x = values[this.options.channel];
    if (!Number.isFinite(x) || !Number.isFinite(ts) || ts <= this.lastTs) return false;
    const o = this.options;
    const dt = Number.isNaN(this.lastTs) ? 0 : ts - this.lastTs;
    this.lastTs = ts;
    this.raw[this.rawHead] = x;
    this.rawHead = (this.rawHead + 1) % this.raw.length;
    if (this.rawCount < this.raw.length) this.rawCount++;
    if (this.rawCount < this.raw.length) return false;
    // The oldest in the ring is x[n - slopeSteps] (rawHead now points at it).
    const d = x - this.raw[this.rawHead];
    const s = d * d;
    if (this.sqCount === this.squared.length) this.sqSum -= this.squared[this.sqHead];
    else this.sqCount++;
    this.squared[this.sqHead] = s;
    this.sqHead = (this.sqHead + 1) % this.squared.length;
    this.sqSum += s;
    const envelope = Math.max(0, this.sqSum) / this.sqCount;
    if (dt > 0) this.peak *= Math.pow(0.5, dt / o.peakHalfLifeMs);
    if (envelope > this.peak) this.peak = envelope;
    const level = o.thresholdFraction * this.peak;
    if (envelope < level || this.peak === 0) {
      this.armed = true;
      return false;
    }
    if (!this.armed) return false;
    this.armed = false;
    // A rise within the refractory time of the last event is that event's own tail (a T wave, a ringing edge).
    if (!Number.isNaN(this.lastEventTs) && ts - this.lastEventTs < o.refractoryMs) return false;
    if (!Number.isNaN(this.lastEventTs)) this.addInterval(ts - this.lastEventTs);
    this.lastEventTs = ts;
    this.events++;
    return true;
  }

  /**
   * The latest interval over the median of the `historyEvents` before it: < 1 premature, > 1 late; 1 while fewer
   * than MIN_HISTORY intervals are known.
   */
  prematurity(): number {
    if (!Number.isNaN(this.cached)) return this.cached;
    const n = this.ivCount - 1;
    if (n < MIN_HISTORY) return 1;
    const len = this.intervals.length;
    const latest = this.intervals[(this.ivHead - 1 + len) % len];
    // The n intervals before the latest, oldest first: ivHead - 1 - n .. ivHead - 2.
    for (let i = 0; i < n; i++) this.sorted[i] = this.intervals[(this.ivHead - 1 - n + i + 2 * len) % len];
    const view = this.sorted.subarray(0, n).sort();
    const median = n % 2 === 1 ? view[(n - 1) / 2] : (view[n / 2 - 1] + view[n / 2]) / 2;
    this.cached = median > 0 ? latest / median : 1;
    return this.cached;
  }

  /**
   * The stream restarted (a gap beyond the window's max gap, a mode change): the interval across the gap is not a
   * rhythm, and the slope must not span it. The intervals before it stay the stream's rhythm.
   */
  gap(): void {
    this.lastEventTs = Number.NaN;
    this.rawCount = 0;
    this.rawHead = 0;
    this.sqCount = 0;
    this.sqHead = 0;
    this.sqSum = 0;
    this.armed = true;
  }

  snapshot(): RhythmState {
    return {
      scalars: Float64Array.of(
        ...[this.lastTs, this.lastEventTs, this.peak, this.sqSum, this.armed ? 1 : 0, this.rawCount, this.sqCount, this.ivCount, this.rawHead, this.sqHead, this.ivHead],
        ...OPTION_ORDER.map((k) => this.options[k]),
      ),
      raw: this.raw.slice(),
      squared: this.squared.slice(),
      intervals: this.intervals.slice(),
    };
  }

  /**
   * Continues from `state`; a state of another tracker (other options, or other ring sizes in a state that does not
   * record its options) is refused with false, and the tracker starts afresh: its events and intervals are not
   * this tracker's.
   */
  restore(state: RhythmState): boolean {
    const s = state.scalars;
    const recorded = s.length === RUNNING_SCALARS + OPTION_ORDER.length;
    if (!recorded && s.length !== RUNNING_SCALARS) return false;
    if (recorded && !OPTION_ORDER.every((k, i) => s[RUNNING_SCALARS + i] === this.options[k])) return false;
    if (state.raw.length !== this.raw.length || state.squared.length !== this.squared.length || state.intervals.length !== this.intervals.length) return false;
    [this.lastTs, this.lastEventTs, this.peak, this.sqSum] = [s[0], s[1], s[2], s[3]];
    this.armed = s[4] === 1;
    [this.rawCount, this.sqCount, this.ivCount, this.rawHead, this.sqHead, this.ivHead] = [s[5], s[6], s[7], s[8], s[9], s[10]];
    this.raw.set(state.raw);
    this.squared.set(state.squared);
    this.intervals.set(state.intervals);
    this.cached = Number.NaN;
    return true;
  }

  private addInterval(ms: number): void {
    this.intervals[this.ivHead] = ms;
    this.ivHead = (this.ivHead + 1) % this.intervals.length;
    if (this.ivCount < this.intervals.length) this.ivCount++;
    this.cached = Number.NaN;
  }
}

/** prematurity^-exponent; late events (p > 1) per `late`. A non-finite or non-positive p gives 1. */
export function rhythmFactor(p: number, o: RhythmScoring): number {
  if (!(p > 0) || !Number.isFinite(p)) return 1;
  const q = o.late === 'ignore' ? Math.min(p, 1) : p;
  return Math.pow(q, -o.exponent);
}

/** The whole feature as configured and as a model's manifest records it: the channel by name, tracker and scoring. */
export interface RhythmSettings extends Omit<RhythmOptions, 'channel'>, RhythmScoring {
  readonly channel: string;
}

/** The tracker's options for a stream of `channels`; the channel's index is -1 (refused by the tracker) when it is not one of them. */
export function rhythmTrackerOptions(r: RhythmSettings, channels: readonly string[]): RhythmOptions {
  return {
    channel: channels.indexOf(r.channel),
    slopeSteps: r.slopeSteps,
    smoothingSteps: r.smoothingSteps,
    thresholdFraction: r.thresholdFraction,
    peakHalfLifeMs: r.peakHalfLifeMs,
    refractoryMs: r.refractoryMs,
    historyEvents: r.historyEvents,
  };
}

/** Every problem of settings for a stream of `channels` (manifest checks; config checks its own paths). */
export function rhythmSettingsProblems(r: RhythmSettings, channels: readonly string[]): string[] {
  const out: string[] = [];
  if (!channels.includes(r.channel)) out.push(`rhythm.channel must be one of the channels [${channels.join(', ')}] (got ${String(r.channel)})`);
  else for (const p of rhythmOptionProblems(rhythmTrackerOptions(r, channels), channels.length)) out.push(`rhythm.${p.option} ${p.message} (got ${String(p.got)})`);
  if (!(r.exponent >= 0 && Number.isFinite(r.exponent))) out.push(`rhythm.exponent must be a finite number >= 0 (got ${String(r.exponent)})`);
  if (!RHYTHM_LATE.includes(r.late)) out.push(`rhythm.late must be ${RHYTHM_LATE.join(' or ')} (got ${String(r.late)})`);
  return out;
}
