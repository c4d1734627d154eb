// At most one log line per key per interval, carrying how many occurrences it stands for. A flood of bad
// messages (or a sink dropping points for an hour) then yields a readable summary instead of burying the log.
import type { Clock } from '../core/clock';

/** Keys come from bounded sets (reasons, configured queues and sinks); this is only a safety net. */
const MAX_KEYS = 1024;

export class LogLimiter {
  private readonly state = new Map<string, { reportedAt: number; suppressed: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /**
   * Records one occurrence (or `n`). Returns how many occurrences to report now (this one plus those held
   * back since the last report), or 0 when the line is to be suppressed.
   */
  hit(key: string, n = 1): number {
    const now = this.clock.now();
    const s = this.state.get(key);
    if (s && now - s.reportedAt < this.intervalMs) {
      s.suppressed += n;
      return 0;
    }
    if (!s && this.state.size >= MAX_KEYS) this.state.clear();
    const count = (s?.suppressed ?? 0) + n;
    this.state.set(key, { reportedAt: now, suppressed: 0 });
    return count;
  }
}
