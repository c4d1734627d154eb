// One summarising alert for new streams refused (allow_streams, new_streams_per_minute, limits.max_streams),
// instead of a page per stream: a flood of made-up topics is one incident, and a legitimate stream refused
// (an allow list that misses it, max_streams too low) must be seen, not only counted. Fires once refusals keep
// coming (`fireAfter` refused messages without a quiet gap), says how many and which reasons in its detail,
// and resolves after `quietMs` without a refusal. Clock-free: the pipeline passes the time. Not persisted: the
// daemon resolves it when it stops (Pipeline.stop), and refusals after the restart raise it again.
import type { AlertNotice } from './alert';
import { daemonAlertNotice } from './daemonAlert';
import type { RejectReason } from './context';

/** The notice's stream label: no single stream is at fault. */
export const REFUSAL_ALERT_STREAM = '_admission';
const NONE: readonly AlertNotice[] = Object.freeze([]);
const EXAMPLES = 5;
/**
 * The daemon's settings: 100 refused messages (a plant starting more streams at once than its
 * new_streams_per_minute lets in is refused for a few messages, not a hundred) and 5 minutes of quiet.
 */
export const REFUSALS_TO_PAGE = 100;
export const REFUSALS_QUIET_MS = 300_000;

export interface RefusalAlertOptions {
  /** Refused messages, without a quiet gap, before it fires (1 = the first). */
  readonly fireAfter: number;
  /** Time without a refusal (ms) that ends an episode (resolves a firing alert). */
  readonly quietMs: number;
  readonly nextSequence: () => number;
}

export class RefusalAlert {
  private count = 0;
  private since = 0;
  private last = 0;
  private readonly reasons = new Map<RejectReason, number>();
  private readonly examples: string[] = [];
  private firing: AlertNotice | null = null;

  constructor(private readonly o: RefusalAlertOptions) {}

  /** A message of stream `stream` was refused at `now` for `reason`; fires when the episode reaches fireAfter. */
  refused(now: number, stream: string, reason: RejectReason): readonly AlertNotice[] {
    if (this.count > 0 && now - this.last > this.o.quietMs && !this.firing) this.reset();
    if (this.count === 0) this.since = now;
    this.count++;
    this.last = now;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (this.examples.length < EXAMPLES && !this.examples.includes(stream)) this.examples.push(stream);
    if (this.firing || this.count < this.o.fireAfter) return NONE;
    this.firing = daemonAlertNotice({ stream: REFUSAL_ALERT_STREAM, kind: 'streams_refused', startsAt: this.since, sequence: this.o.nextSequence(), detail: this.describe() });
    return [this.firing];
  }

  /** Called periodically: resolves a firing alert after quietMs without a refusal, with the episode's total. */
  check(now: number): readonly AlertNotice[] {
    if (this.count > 0 && now - this.last > this.o.quietMs) return this.end(now);
    return NONE;
  }

  /** The daemon stops: a firing alert is resolved (it is not persisted), with the reason. */
  retire(now: number, reason: string): readonly AlertNotice[] {
    return this.end(now, reason);
  }

  /** Refused messages in the current episode (0 when quiet). */
  get refusedCount(): number {
    return this.count;
  }

  private end(now: number, reason?: string): readonly AlertNotice[] {
    const firing = this.firing;
    const detail = this.describe();
    this.reset();
    if (!firing) return NONE;
    return [{ ...firing, status: 'resolved', endsAt: now, sequence: this.o.nextSequence(), detail, ...(reason !== undefined ? { reason } : {}) }];
  }

  private reset(): void {
    this.count = 0;
    this.reasons.clear();
    this.examples.length = 0;
    this.firing = null;
  }

  private describe(): string {
    const reasons = [...this.reasons].map(([r, n]) => `${r}: ${n}`).join(', ');
    return `${this.count} message(s) of new streams refused (${reasons}), e.g. ${this.examples.map((s) => `'${s}'`).join(', ')}`;
  }
}
