// Tolerance for late, out-of-order and duplicate samples. MQTT QoS 1 redelivers after a reconnect, gateways
// batch and reorder, and two paths can deliver the same reading twice. Samples wait here up to `maxLatenessMs`
// behind the newest time seen (the watermark) and leave in time order, so every arrival order within the
// lateness yields the same windows. A duplicate time is dropped; a sample older than the watermark (later than
// the lateness allows) is dropped and counted. With maxLatenessMs = 0 samples pass straight through.
import type { Sample } from './types';

export interface ReorderStats {
  readonly duplicates: number;
  readonly late: number;
  readonly held: number;
}

export type ReorderDrop = 'duplicate' | 'late';

export class ReorderBuffer {
  /** Held samples sorted by time (small: at most lateness x rate). */
  private held: Sample[] = [];
  private maxTs = Number.NEGATIVE_INFINITY;
  private lastReleased = Number.NEGATIVE_INFINITY;
  private duplicates = 0;
  private late = 0;

  constructor(
    private readonly maxLatenessMs: number,
    /** Bound on held samples whatever the lateness: beyond it the oldest are released early. */
    private readonly maxHeld = 100_000,
  ) {
    if (!(maxLatenessMs >= 0)) throw new RangeError(`maxLatenessMs must be >= 0 (got ${maxLatenessMs})`);
  }

  get stats(): ReorderStats {
    return { duplicates: this.duplicates, late: this.late, held: this.held.length };
  }

  /**
   * Adds a sample; returns the samples now due, in time order, and why this sample was dropped if it was.
   * Non-finite times pass through untouched so the window buffer counts them as malformed.
   */
  push(sample: Sample): { ready: Sample[]; dropped?: ReorderDrop } {
    const ts = sample.ts;
    if (this.maxLatenessMs === 0 || !Number.isFinite(ts)) {
      const dropped = this.admit(ts);
      return dropped === undefined ? { ready: [sample] } : { ready: [], dropped };
    }
    if (ts <= this.lastReleased) {
      if (ts === this.lastReleased) this.duplicates++;
      else this.late++;
      return { ready: [], dropped: ts === this.lastReleased ? 'duplicate' : 'late' };
    }
    const at = this.insertionPoint(ts);
    if (at < this.held.length && this.held[at].ts === ts) {
      this.duplicates++;
      return { ready: [], dropped: 'duplicate' };
    }
    this.held.splice(at, 0, sample);
    if (ts > this.maxTs) this.maxTs = ts;
    return { ready: this.release(this.maxTs - this.maxLatenessMs) };
  }

  /** The samples held now, in time order (a state checkpoint keeps them); the buffer is unchanged. */
  get pending(): readonly Sample[] {
    return this.held;
  }

  /** True without a lateness tolerance: samples pass straight through, and `admit` may replace `push`. */
  get immediate(): boolean {
    return this.maxLatenessMs === 0;
  }

  /**
   * push() for a buffer without lateness tolerance (`immediate`), without allocating a result: undefined when
   * the sample passes (now), else why it was dropped.
   */
  admit(ts: number): ReorderDrop | undefined {
    if (!Number.isFinite(ts)) return undefined;
    if (ts <= this.lastReleased) {
      if (ts === this.lastReleased) {
        this.duplicates++;
        return 'duplicate';
      }
      this.late++;
      return 'late';
    }
    this.lastReleased = ts;
    this.maxTs = ts;
    return undefined;
  }

  /** Everything held, in order (shutdown, end of a replay). */
  flush(): Sample[] {
    return this.release(Number.POSITIVE_INFINITY);
  }

  private release(watermark: number): Sample[] {
    let n = 0;
    while (n < this.held.length && (this.held[n].ts <= watermark || this.held.length - n > this.maxHeld)) n++;
    if (n === 0) return [];
    const out = this.held.slice(0, n);
    this.held = this.held.slice(n);
    this.lastReleased = out[out.length - 1].ts;
    return out;
  }

  /** First index whose time is >= ts (binary search). */
  private insertionPoint(ts: number): number {
    let lo = 0;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.held[mid].ts < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
