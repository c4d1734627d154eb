// The operating mode of one stream, with hysteresis: a new mode applies only after it held for `hold`
// consecutive observations (samples for a channel condition, messages for a mode topic), so a signal hovering at
// a boundary does not flap between modes and restart the windows at every sample. The first observation sets
// the mode at once: there is nothing to flap from.

/** The mode name that stops a stream: nothing is scored, learned or paged, and the stall alarm waits. */
export const OFF_MODE = 'off';

/** What a mode name may be: it becomes a metric label, an InfluxDB field and part of a learned model's name. */
export const MODE_NAME_SOURCE = '^[A-Za-z][A-Za-z0-9_-]{0,31}$';
export const MODE_NAME = new RegExp(MODE_NAME_SOURCE);

export class ModeTracker {
  private mode: string | null = null;
  private candidate: string | null = null;
  private held = 0;

  constructor(
    private readonly hold: number,
    initial: string | null = null,
  ) {
    if (!Number.isInteger(hold) || hold < 1) throw new RangeError(`hold must be an integer >= 1 (got ${hold})`);
    this.mode = initial;
  }

  /** The mode in force (null before the first observation). */
  get current(): string | null {
    return this.mode;
  }

  /**
   * One observation of `mode`. Returns the mode that now applies when it changed with this observation, else
   * null. Allocates nothing.
   */
  observe(mode: string): string | null {
    if (mode === this.mode) {
      this.candidate = null;
      this.held = 0;
      return null;
    }
    if (this.mode === null || this.hold <= 1) return this.apply(mode);
    if (mode === this.candidate) this.held++;
    else {
      this.candidate = mode;
      this.held = 1;
    }
    return this.held >= this.hold ? this.apply(mode) : null;
  }

  private apply(mode: string): string {
    this.mode = mode;
    this.candidate = null;
    this.held = 0;
    return mode;
  }
}
