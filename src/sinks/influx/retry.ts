// Retry timing for the InfluxDB sink: capped exponential back-off with jitter, and a wait that ends early.

/**
 * Delay before retry number `attempt` (1-based): min * 2^(attempt-1), capped at max, then spread over
 * [50 %, 100 %] of that ("equal jitter"), so a fleet of daemons does not retry in step after an outage.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** A wait (timed or open-ended) that a wake() call or an abort signal ends early. */
export class Waker {
  private pending: (() => void) | null = null;
  private woken = false;

  constructor(private readonly signal: AbortSignal) {}

  /** Ends the current wait, or the next one if none is running (so a wake between checks is not lost). */
  wake(): void {
    if (this.pending) this.pending();
    else this.woken = true;
  }

  /** Resolves after `ms` (null: only on wake), on wake() or when the signal aborts (if `onAbort`). */
  wait(ms: number | null, onAbort = true): Promise<void> {
    if (this.woken || (onAbort && this.signal.aborted)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer) clearTimeout(timer);
        if (onAbort) this.signal.removeEventListener('abort', done);
        this.pending = null;
        this.woken = false;
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      if (onAbort) this.signal.addEventListener('abort', done, { once: true });
      this.pending = done;
    });
  }
}
