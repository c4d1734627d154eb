// Notice sequence numbers: one counter for the whole daemon, shared by every stream's state machine, and
// persisted with the alert state so numbers keep growing across restarts (receivers order and dedupe by them).

export class SequenceCounter {
  private current: number;

  /** `last` is the highest number already handed out (0 when none), e.g. from the persisted state. */
  constructor(last = 0) {
    if (!Number.isSafeInteger(last) || last < 0) throw new RangeError(`SequenceCounter: last must be a non-negative integer (got ${last})`);
    this.current = last;
  }

  next(): number {
    this.current += 1;
    return this.current;
  }

  /** The highest number handed out so far: what to persist. */
  get last(): number {
    return this.current;
  }

  /** Never moves backwards: restoring an older state file must not reissue numbers a receiver has seen. */
  advanceTo(last: number): void {
    if (Number.isSafeInteger(last) && last > this.current) this.current = last;
  }
}
