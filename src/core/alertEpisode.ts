// The raw anomaly condition of one stream, before flapping and notices are layered on top: k-of-n to start,
// hysteresis plus a minimum firing time to end. Kept apart from alerting.ts so the flapping layer can keep
// tracking episodes while it holds the alert, and so this part can be tested on its own.
import { KOfN } from './debounce';

export interface EpisodeOptions {
  readonly k: number;
  readonly n: number;
  /** Consecutive calm windows needed to end an episode. */
  readonly resetWindows: number;
  /** A window is calm only when score < resetRatio x threshold (hysteresis). */
  readonly resetRatio: number;
  /** An episode lasts at least this long (ms of window time). */
  readonly keepFiringForMs: number;
}

export type EpisodeEvent = 'start' | 'end' | null;

export interface EpisodeSnapshot {
  /** Anomalous flags of the last n windows while inactive, oldest first (rebuilds the k-of-n history). */
  readonly recent: readonly boolean[];
  readonly active: boolean;
  /** Window time the episode started (ms); 0 when inactive. */
  readonly since: number;
  readonly calm: number;
}

export class EpisodeTracker {
  private readonly kofn: KOfN;
  private recent: boolean[] = [];
  private activeFlag = false;
  private since = 0;
  private calm = 0;

  constructor(private readonly options: EpisodeOptions) {
    if (!(options.resetRatio > 0 && options.resetRatio <= 1)) throw new RangeError(`resetRatio must be in (0, 1] (got ${options.resetRatio})`);
    if (!Number.isInteger(options.resetWindows) || options.resetWindows < 1) {
      throw new RangeError(`resetWindows must be an integer >= 1 (got ${options.resetWindows})`);
    }
    if (!(options.keepFiringForMs >= 0)) throw new RangeError(`keepFiringForMs must be >= 0 (got ${options.keepFiringForMs})`);
    this.kofn = new KOfN(options.k, options.n);
  }

  /** One scored window; returns 'start' or 'end' when the episode changes. */
  observe(time: number, score: number, threshold: number, anomalous: boolean): EpisodeEvent {
    if (!this.activeFlag) {
      this.remember(anomalous);
      if (!this.kofn.push(anomalous)) return null;
      this.activeFlag = true;
      this.since = time;
      this.calm = 0;
      // A fresh start must again need k anomalous windows, not reuse the ones that started this episode.
      this.kofn.reset();
      this.recent = [];
      return 'start';
    }
    this.calm = score < this.options.resetRatio * threshold ? this.calm + 1 : 0;
    if (this.calm >= this.options.resetWindows && time - this.since >= this.options.keepFiringForMs) {
      this.activeFlag = false;
      this.since = 0;
      this.calm = 0;
      return 'end';
    }
    return null;
  }

  get active(): boolean {
    return this.activeFlag;
  }

  /** Inactive, but some of the last n windows were anomalous: the alert is pending. */
  get pending(): boolean {
    return !this.activeFlag && this.kofn.count > 0;
  }

  /**
   * Inactive with a full history of calm windows: another calm window leaves the snapshot as it is (the
   * checkpoint skips streams whose alert state did not change, app/bindings.ts).
   */
  get quiet(): boolean {
    return !this.activeFlag && this.kofn.count === 0 && this.recent.length >= this.options.n;
  }

  /** When the current episode started (ms); 0 when inactive. */
  get startedAt(): number {
    return this.since;
  }

  snapshot(): EpisodeSnapshot {
    return { recent: [...this.recent], active: this.activeFlag, since: this.since, calm: this.calm };
  }

  restore(s: EpisodeSnapshot): void {
    this.kofn.reset();
    // n may have changed in the config since the snapshot was taken: only the last n flags matter.
    this.recent = s.active ? [] : s.recent.slice(-this.options.n);
    for (const flag of this.recent) this.kofn.push(flag);
    this.activeFlag = s.active;
    this.since = s.active ? s.since : 0;
    this.calm = s.active ? s.calm : 0;
  }

  private remember(anomalous: boolean): void {
    this.recent.push(anomalous);
    if (this.recent.length > this.options.n) this.recent.shift();
  }
}
