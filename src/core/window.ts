// Per-stream sliding windows over multichannel samples. This runs for every stream on every sample (10,000
// streams at 10 Hz), so the buffer is a fixed ring allocated once, a sample costs O(channels), and only an
// emitted window allocates (its values array, which the scorer keeps).
import { RhythmTracker, rhythmOptionProblems, sameRhythmOptions, type RhythmOptions, type RhythmState } from './rhythm';
import type { InsufficientWindow, Sample, StreamSpec, Window, WindowEvent } from './types';

export interface WindowOptions {
  /** Time steps per window. */
  size: number;
  /** Time steps between the ends of consecutive windows. May exceed `size`: the steps in between are skipped. */
  hop: number;
  /** A gap between consecutive samples longer than this restarts the window (the old data is not continuous). */
  maxGapMs: number;
  /** Windows whose fraction of observed values is below this are reported as insufficient, never scored. */
  minCompleteness: number;
  /**
   * Nominal sample period. When given, a gap longer than 1.5 periods (but within maxGapMs) is filled with
   * all-missing time steps so that a window always spans size * period of real time.
   */
  samplePeriodMs?: number;
  /**
   * Most all-missing steps one gap is filled with (default DEFAULT_MAX_GAP_STEPS); a gap that would need more
   * restarts the window like one beyond maxGapMs. Bounds the work one sample after a pause can cause: without
   * it, maxGapMs / samplePeriodMs steps (millions for a tiny period) would be inserted and windowed at once.
   */
  maxGapSteps?: number;
  /**
   * Track the stream's rhythm on one channel (core/rhythm.ts): every window then carries the prematurity of the
   * latest event at its end. Absent: no tracking, windows carry none.
   */
  rhythm?: RhythmOptions;
}

/** Cumulative counters (they survive reset() so they can feed monotonic Prometheus counters). */
export interface WindowBufferStats {
  /** Samples accepted into the buffer. */
  readonly samples: number;
  /** Samples whose ts was not after the previous accepted one (dropped). */
  readonly outOfOrder: number;
  /** Samples with a non-finite ts or a value count that does not match the stream's channels (dropped). */
  readonly malformed: number;
  /** Times a gap longer than maxGapMs, or needing more than maxGapSteps filled steps, cleared the buffer. */
  readonly gapRestarts: number;
  /** All-missing time steps inserted for gaps shorter than maxGapMs (only with samplePeriodMs). */
  readonly filledSteps: number;
  /** Scorable windows emitted. */
  readonly windows: number;
  /** Insufficient windows emitted. */
  readonly insufficient: number;
}

/** A WindowBuffer's content and grid position (see WindowBuffer.snapshot). */
export interface WindowBufferSnapshot {
  readonly size: number;
  readonly hop: number;
  readonly channels: number;
  /** Steps until the next window is due. */
  readonly untilEmit: number;
  readonly lastTs: number;
  /** Buffered steps, oldest first. */
  readonly ts: Float64Array;
  /** Their values, time-major; NaN = missing. */
  readonly values: Float32Array;
  readonly beforeWindow: Float32Array;
  /** The rhythm tracker's state (absent: the buffer tracks none). */
  readonly rhythm?: RhythmState;
}

/**
 * A WindowBuffer's content and grid position without a copy (see WindowBuffer.view): the steps are views on the
 * live ring, valid only until the buffer takes its next sample. A checkpoint encodes it at once, so 10,000
 * streams do not each leave a copy of their ring for the garbage collector.
 */
export interface WindowBufferView {
  readonly size: number;
  readonly hop: number;
  readonly channels: number;
  readonly untilEmit: number;
  readonly lastTs: number;
  /** Buffered steps, oldest first, in one block or two (where the ring wraps). */
  readonly ts: readonly Float64Array[];
  /** Their values, time-major, in the same blocks. */
  readonly values: readonly Float32Array[];
  readonly beforeWindow: Float32Array;
  /** The rhythm tracker's state (a copy; absent: the buffer tracks none). */
  readonly rhythm?: RhythmState;
}

/**
 * Returned when a push emits nothing, so the common case allocates no array. Frozen: a caller that tried to
 * push into it would fail loudly instead of corrupting every later return value.
 */
const NO_EVENTS: WindowEvent[] = Object.freeze([]) as unknown as WindowEvent[];

/** Most all-missing steps one gap is filled with when WindowOptions.maxGapSteps is not given. */
export const DEFAULT_MAX_GAP_STEPS = 10_000;

/** One violated window option: which one, why, and the value it had. */
export interface WindowOptionProblem {
  /** The rhythm's options have their own checks (rhythmOptionProblems). */
  readonly option: Exclude<keyof WindowOptions, 'rhythm'>;
  readonly message: string;
  readonly got: unknown;
}

/**
 * Every violated window option. The constructor throws the first; configuration loading reports them all
 * (config/semantic.ts), so `validate` refuses exactly what a stream's window would refuse at run time.
 */
export function windowOptionProblems(opts: WindowOptions): WindowOptionProblem[] {
  const out: WindowOptionProblem[] = [];
  const bad = (option: WindowOptionProblem['option'], message: string, got: unknown): void => {
    out.push({ option, message, got });
  };
  if (!Number.isInteger(opts.size) || opts.size < 1) bad('size', 'must be an integer >= 1', opts.size);
  if (!Number.isInteger(opts.hop) || opts.hop < 1) bad('hop', 'must be an integer >= 1', opts.hop);
  if (!(opts.maxGapMs > 0)) bad('maxGapMs', 'must be > 0', opts.maxGapMs);
  if (!(opts.minCompleteness >= 0 && opts.minCompleteness <= 1)) bad('minCompleteness', 'must be in [0, 1]', opts.minCompleteness);
  const p = opts.samplePeriodMs;
  if (p !== undefined && !(p > 0 && Number.isFinite(p))) bad('samplePeriodMs', 'must be a finite number > 0', p);
  const steps = opts.maxGapSteps;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) bad('maxGapSteps', 'must be an integer >= 1', steps);
  return out;
}

function validateOptions(stream: StreamSpec, opts: WindowOptions): void {
  const fail = (what: string, got: unknown): never => {
    throw new RangeError(`window options for stream '${stream.id}': ${what} (got ${String(got)})`);
  };
  if (stream.channels.length < 1) fail('the stream needs at least one channel', stream.channels.length);
  const first = windowOptionProblems(opts)[0];
  if (first) fail(`${first.option} ${first.message}`, first.got);
  const rhythm = opts.rhythm ? rhythmOptionProblems(opts.rhythm, stream.channels.length)[0] : undefined;
  if (rhythm) fail(`rhythm.${rhythm.option} ${rhythm.message}`, rhythm.got);
}

/**
 * Scratch for fill(), shared by every buffer: fill() runs to completion before another can start, and two
 * typed arrays per stream cost more than they save at 10,000 streams. Grows to the widest stream seen.
 */
let fillScratch = { carry: new Float32Array(16), firstSeen: new Int32Array(16) };

function scratch(channels: number): { carry: Float32Array; firstSeen: Int32Array } {
  if (fillScratch.carry.length < channels) fillScratch = { carry: new Float32Array(channels), firstSeen: new Int32Array(channels) };
  return fillScratch;
}

/**
 * Ring storage for every buffer, carved from shared slabs. A typed array of its own per ring costs an
 * ArrayBuffer each (a malloc'd backing store plus V8's bookkeeping for it, several hundred bytes beyond the
 * data) and scatters 10,000 streams' rings over the allocator; views on a few 256 KiB slabs cost neither.
 * A buffer that is garbage-collected (its stream evicted) returns its slot, so evicting and creating streams
 * reuses slots instead of growing the slabs.
 */
const SLAB_BYTES = 256 * 1024;

interface RingSlot {
  readonly buffer: ArrayBuffer;
  readonly offset: number;
}

class RingSlabs {
  /** Free slots by slot size in bytes. */
  private readonly free = new Map<number, RingSlot[]>();
  /** The slab being carved, per slot size, and the next offset in it. */
  private readonly open = new Map<number, { buffer: ArrayBuffer; next: number }>();
  private readonly reclaim = new FinalizationRegistry<{ bytes: number; slot: RingSlot }>(({ bytes, slot }) => {
    this.freeList(bytes).push(slot);
  });

  /** A zeroed slot of `bytes` (a multiple of 8), returned to the pool when `owner` is collected. */
  take(owner: object, bytes: number): RingSlot {
    let slot = this.freeList(bytes).pop();
    if (slot) {
      new Uint8Array(slot.buffer, slot.offset, bytes).fill(0);
    } else {
      let cur = this.open.get(bytes);
      if (!cur || cur.next + bytes > cur.buffer.byteLength) {
        cur = { buffer: new ArrayBuffer(Math.max(SLAB_BYTES, bytes)), next: 0 };
        this.open.set(bytes, cur);
      }
      slot = { buffer: cur.buffer, offset: cur.next };
      cur.next += bytes;
    }
    this.reclaim.register(owner, { bytes, slot });
    return slot;
  }

  private freeList(bytes: number): RingSlot[] {
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    return list;
  }
}

const ringSlabs = new RingSlabs();

export class WindowBuffer {
  private readonly streamId: string;
  private readonly channels: number;
  private readonly size: number;
  private readonly hop: number;
  private readonly maxGapMs: number;
  private readonly maxGapSteps: number;
  private readonly minCompleteness: number;
  private readonly periodMs: number | undefined;

  /** Ring of time steps, time-major interleaved like a window; NaN = missing. */
  private readonly ring: Float32Array;
  private readonly ringTs: Float64Array;
  /** Next slot to write; once the ring is full it is also the oldest step. */
  private head = 0;
  private filled = 0;
  /** Observed (non-NaN) values among the buffered steps, kept as steps come and go so emit() need not count. */
  private observed = 0;
  /** Steps until the next window is due: `size` after a restart, then `hop`. */
  private untilEmit: number;
  /** Last accepted ts (ordering and gap checks); -Infinity before the first sample. */
  private lastTs = Number.NEGATIVE_INFINITY;
  /**
   * Per channel, the last observed value that has already left the ring. Carrying it forward into a window
   * means a channel that reports less often than once a window still gets its real last value, not a guess.
   */
  private readonly beforeWindow: Float32Array;
  /** The stream's rhythm (WindowOptions.rhythm, or as setRhythm changed it); null when not tracked. */
  private rhythm: RhythmTracker | null;

  // The counters of `stats`, as fields of the buffer itself: an object of their own was one more cache line
  // to fetch per sample (a sample goes to a different stream's buffer each time at 1,000 streams).
  private samplesTaken = 0;
  private outOfOrderCount = 0;
  private malformedCount = 0;
  private gapRestarts = 0;
  private filledSteps = 0;
  private windowsEmitted = 0;
  private insufficientEmitted = 0;

  constructor(stream: StreamSpec, opts: WindowOptions) {
    validateOptions(stream, opts);
    this.streamId = stream.id;
    this.channels = stream.channels.length;
    this.size = opts.size;
    this.hop = opts.hop;
    this.maxGapMs = opts.maxGapMs;
    this.minCompleteness = opts.minCompleteness;
    this.periodMs = opts.samplePeriodMs;
    this.maxGapSteps = opts.maxGapSteps ?? DEFAULT_MAX_GAP_STEPS;
    // One slot holds all three: the timestamps first (8-byte aligned), then the values, then the last value of
    // each channel before the window, padded to 8 bytes (an ArrayBuffer of its own for those few bytes cost a
    // malloc'd backing store and V8's bookkeeping per stream).
    const tsBytes = this.size * Float64Array.BYTES_PER_ELEMENT;
    const valueBytes = this.size * this.channels * Float32Array.BYTES_PER_ELEMENT;
    const beforeBytes = this.channels * Float32Array.BYTES_PER_ELEMENT;
    const slot = ringSlabs.take(this, tsBytes + Math.ceil((valueBytes + beforeBytes) / 8) * 8);
    this.ringTs = new Float64Array(slot.buffer, slot.offset, this.size);
    this.ring = new Float32Array(slot.buffer, slot.offset + tsBytes, this.size * this.channels);
    this.untilEmit = this.size;
    this.beforeWindow = new Float32Array(slot.buffer, slot.offset + tsBytes + valueBytes, this.channels).fill(Number.NaN);
    this.rhythm = opts.rhythm ? new RhythmTracker(opts.rhythm) : null;
  }

  /**
   * Adds one sample and returns the windows it completes (usually none; several when a filled gap crosses
   * window boundaries). Bad samples are counted and dropped, never thrown: one broken sensor must not stop a
   * stream. The returned array must not be modified.
   */
  push(sample: Sample): WindowEvent[] {
    const ts = sample.ts;
    if (!Number.isFinite(ts) || sample.values.length !== this.channels) {
      this.malformedCount++;
      return NO_EVENTS;
    }
    if (ts <= this.lastTs) {
      this.outOfOrderCount++;
      return NO_EVENTS;
    }
    let events: WindowEvent[] | undefined;
    if (this.lastTs !== Number.NEGATIVE_INFINITY) {
      const gap = ts - this.lastTs;
      // round(): jitter of up to half a period on the sample after the gap must not add or lose a step.
      const missing = this.periodMs !== undefined && gap > 1.5 * this.periodMs ? Math.round(gap / this.periodMs) - 1 : 0;
      if (gap > this.maxGapMs || missing > this.maxGapSteps) {
        this.clear();
        this.rhythm?.gap();
        this.gapRestarts++;
      } else if (missing > 0 && this.periodMs !== undefined) {
        for (let k = 1; k <= missing; k++) events = this.addStep(this.lastTs + k * this.periodMs, null, events);
        this.filledSteps += missing;
      }
    }
    // Before the step: a window this sample completes carries the rhythm up to and including it.
    this.rhythm?.push(ts, sample.values);
    events = this.addStep(ts, sample.values, events);
    this.lastTs = ts;
    this.samplesTaken++;
    return events ?? NO_EVENTS;
  }

  /**
   * The buffered steps and grid position, so a restarted daemon continues the same window grid (the state
   * checkpoint, state/stateStore.ts). Copies: the snapshot does not change with later pushes.
   */
  snapshot(): WindowBufferSnapshot {
    const { size, channels, filled } = this;
    // One ArrayBuffer for both copies: a checkpoint snapshots every stream at once, and each ArrayBuffer is a
    // malloc'd backing store of its own that lingers until a major GC.
    const copy = new ArrayBuffer(filled * 8 + filled * channels * 4);
    const ts = new Float64Array(copy, 0, filled);
    const values = new Float32Array(copy, filled * 8, filled * channels);
    const oldest = filled === size ? this.head : 0;
    // The ring in at most two contiguous blocks (oldest..end, then start..oldest): a copy per step made a
    // subarray object per step, most of the checkpoint's cost at 1,000 streams.
    const first = Math.min(filled, size - oldest);
    ts.set(this.ringTs.subarray(oldest, oldest + first), 0);
    values.set(this.ring.subarray(oldest * channels, (oldest + first) * channels), 0);
    if (first < filled) {
      ts.set(this.ringTs.subarray(0, filled - first), first);
      values.set(this.ring.subarray(0, (filled - first) * channels), first * channels);
    }
    const rhythm = this.rhythm?.snapshot();
    return { size, hop: this.hop, channels, untilEmit: this.untilEmit, lastTs: this.lastTs, ts, values, beforeWindow: Float32Array.from(this.beforeWindow), ...(rhythm ? { rhythm } : {}) };
  }

  /** The same content as snapshot(), as views on the ring (no copy): read it before the next push. */
  view(): WindowBufferView {
    const { size, channels, filled } = this;
    const oldest = filled === size ? this.head : 0;
    const first = Math.min(filled, size - oldest);
    const ts = [this.ringTs.subarray(oldest, oldest + first)];
    const values = [this.ring.subarray(oldest * channels, (oldest + first) * channels)];
    if (first < filled) {
      ts.push(this.ringTs.subarray(0, filled - first));
      values.push(this.ring.subarray(0, (filled - first) * channels));
    }
    const rhythm = this.rhythm?.snapshot();
    return { size, hop: this.hop, channels, untilEmit: this.untilEmit, lastTs: this.lastTs, ts, values, beforeWindow: this.beforeWindow, ...(rhythm ? { rhythm } : {}) };
  }

  /**
   * Continues from a snapshot of a buffer with the same geometry; throws a RangeError (buffer unchanged) otherwise.
   * The rhythm continues from the snapshot's when its settings fit (else it starts afresh: a tracker of other
   * ring sizes cannot take it).
   */
  restore(s: WindowBufferSnapshot): void {
    const { size, channels } = this;
    const filled = s.ts.length;
    if (s.size !== size || s.hop !== this.hop || s.channels !== channels || filled > size || s.values.length !== filled * channels || s.beforeWindow.length !== channels) {
      throw new RangeError(`window snapshot of stream '${this.streamId}' does not match its geometry (size ${s.size}, hop ${s.hop}, ${s.channels} channels)`);
    }
    if (!(s.untilEmit >= 1 && s.untilEmit <= Math.max(size, this.hop))) throw new RangeError(`window snapshot of stream '${this.streamId}' has an invalid position`);
    this.ring.set(s.values);
    this.ringTs.set(s.ts);
    this.filled = filled;
    let observed = 0;
    for (let i = 0; i < filled * channels; i++) if (!Number.isNaN(s.values[i])) observed++;
    this.observed = observed;
    this.head = filled % size;
    this.untilEmit = s.untilEmit;
    this.lastTs = s.lastTs;
    this.beforeWindow.set(s.beforeWindow);
    if (this.rhythm && s.rhythm) this.rhythm.restore(s.rhythm);
  }

  /**
   * Tracks the rhythm with `opts` from the next sample on (undefined: none), keeping the buffered samples, so the
   * window grid goes on. A tracker of the same options is kept with its history; another starts afresh (its
   * windows carry prematurity 1 until its history rebuilds): the events of other options are not its events.
   * Returns whether the tracker changed; throws a RangeError (tracker unchanged) for options the stream cannot take.
   */
  setRhythm(opts: RhythmOptions | undefined): boolean {
    if (sameRhythmOptions(this.rhythm?.options, opts)) return false;
    const problem = opts ? rhythmOptionProblems(opts, this.channels)[0] : undefined;
    if (problem) throw new RangeError(`rhythm options for stream '${this.streamId}': ${problem.option} ${problem.message} (got ${String(problem.got)})`);
    this.rhythm = opts ? new RhythmTracker(opts) : null;
    return true;
  }

  /** The options of the rhythm tracked now (undefined: none). */
  get rhythmOptions(): RhythmOptions | undefined {
    return this.rhythm?.options;
  }

  /** Forgets all buffered data and the last timestamp (e.g. after a model reload). Counters are kept. */
  reset(): void {
    this.clear();
    this.rhythm?.gap();
    this.lastTs = Number.NEGATIVE_INFINITY;
  }

  get stats(): WindowBufferStats {
    return {
      samples: this.samplesTaken,
      outOfOrder: this.outOfOrderCount,
      malformed: this.malformedCount,
      gapRestarts: this.gapRestarts,
      filledSteps: this.filledSteps,
      windows: this.windowsEmitted,
      insufficient: this.insufficientEmitted,
    };
  }

  /** stats.outOfOrder without copying every counter (read around each push on the ingest path). */
  get outOfOrder(): number {
    return this.outOfOrderCount;
  }

  /** Time steps currently buffered (at most `size`). */
  get buffered(): number {
    return this.filled;
  }

  /** Time steps until the next window is emitted (`size` after a restart, then at most `hop`). */
  get stepsUntilWindow(): number {
    return this.untilEmit;
  }

  /**
   * Time from the oldest buffered step to the newest (ms; 0 with fewer than two steps): the status page
   * estimates the sample period from it when none is configured. Read on request, never on the ingest path.
   */
  get bufferedSpanMs(): number {
    if (this.filled < 2) return 0;
    const oldest = this.filled === this.size ? this.head : 0;
    return this.lastTs - this.ringTs[oldest];
  }

  /**
   * A restart forgets carried values too: after a gap longer than maxGapMs the old values describe another
   * period of operation, and filling a new window with them would fake continuity.
   */
  private clear(): void {
    this.head = 0;
    this.filled = 0;
    this.observed = 0;
    this.untilEmit = this.size;
    this.beforeWindow.fill(Number.NaN);
  }

  private addStep(
    ts: number,
    values: ArrayLike<number> | null,
    events: WindowEvent[] | undefined,
  ): WindowEvent[] | undefined {
    const { channels, ring } = this;
    const base = this.head * channels;
    let observed = this.observed;
    if (this.filled === this.size) {
      // The oldest step leaves the window: remember its observed values for carrying forward.
      for (let c = 0; c < channels; c++) {
        const old = ring[base + c];
        if (!Number.isNaN(old)) {
          this.beforeWindow[c] = old;
          observed--;
        }
      }
    } else {
      this.filled++;
    }
    if (values === null) {
      ring.fill(Number.NaN, base, base + channels);
    } else {
      for (let c = 0; c < channels; c++) {
        // fround first: a finite double beyond float32 range would become Infinity in the ring.
        const v = Math.fround(values[c]);
        if (Number.isFinite(v)) {
          ring[base + c] = v;
          observed++;
        } else {
          ring[base + c] = Number.NaN;
        }
      }
    }
    this.observed = observed;
    this.ringTs[this.head] = ts;
    this.head = this.head + 1 === this.size ? 0 : this.head + 1;
    if (--this.untilEmit > 0) return events;
    this.untilEmit = this.hop;
    const event = this.emit();
    if (events === undefined) return [event];
    events.push(event);
    return events;
  }

  /** Called only with a full ring, so `head` is the oldest step. O(size * channels). */
  private emit(): WindowEvent {
    const { size, channels, head } = this;
    const total = size * channels;
    const completeness = this.observed / total;
    const start = this.ringTs[head];
    const end = this.ringTs[head === 0 ? size - 1 : head - 1];
    if (completeness < this.minCompleteness) {
      this.insufficientEmitted++;
      const window: InsufficientWindow = {
        stream: this.streamId,
        start,
        end,
        completeness,
        reason: 'low_completeness',
      };
      return { kind: 'insufficient', window };
    }
    const values = this.fill();
    this.windowsEmitted++;
    const window: Window = this.rhythm
      ? { stream: this.streamId, start, end, size, channels, values, completeness, prematurity: this.rhythm.prematurity() }
      : { stream: this.streamId, start, end, size, channels, values, completeness };
    return { kind: 'window', window };
  }

  /**
   * Copies the ring oldest-first, filling missing values: carry the channel's last observed value forward
   * (seeded with the value from before the window), then carry the first observed value backward over a
   * leading gap, and 0 only for a channel never observed since the last restart.
   */
  private fill(): Float32Array {
    const { size, channels, ring, head } = this;
    const out = new Float32Array(size * channels);
    if (this.observed === size * channels) {
      // Nothing missing (the usual window): nothing to carry either, so the ring oldest-first is the window.
      out.set(ring.subarray(head * channels), 0);
      if (head > 0) out.set(ring.subarray(0, head * channels), (size - head) * channels);
      return out;
    }
    const { carry, firstSeen } = scratch(channels);
    carry.set(this.beforeWindow);
    firstSeen.fill(-1);
    for (let t = 0; t < size; t++) {
      const slot = head + t < size ? head + t : head + t - size;
      const src = slot * channels;
      const dst = t * channels;
      for (let c = 0; c < channels; c++) {
        const v = ring[src + c];
        if (!Number.isNaN(v)) {
          carry[c] = v;
          if (firstSeen[c] < 0) firstSeen[c] = t;
        }
        out[dst + c] = carry[c];
      }
    }
    for (let c = 0; c < channels; c++) {
      if (!Number.isNaN(this.beforeWindow[c])) continue;
      const first = firstSeen[c];
      const back = first >= 0 ? out[first * channels + c] : 0;
      const stop = first >= 0 ? first : size;
      for (let t = 0; t < stop; t++) out[t * channels + c] = back;
    }
    return out;
  }
}

/**
 * Windows of a whole recorded series (offline commands). Goes through WindowBuffer sample by sample so that
 * training, calibration and evaluation see exactly the windows the daemon would.
 * `values` holds rows * channels values, row-major like a window.
 */
export function windowsFromSeries(
  stream: StreamSpec,
  ts: Float64Array,
  values: Float32Array,
  opts: WindowOptions,
): WindowEvent[] {
  const channels = stream.channels.length;
  if (values.length !== ts.length * channels) {
    throw new RangeError(
      `windowsFromSeries: ${ts.length} timestamps x ${channels} channels needs ${ts.length * channels} values ` +
        `(got ${values.length})`,
    );
  }
  const buffer = new WindowBuffer(stream, opts);
  const out: WindowEvent[] = [];
  for (let r = 0; r < ts.length; r++) {
    const events = buffer.push({ ts: ts[r], values: values.subarray(r * channels, (r + 1) * channels) });
    for (const e of events) out.push(e);
  }
  return out;
}
