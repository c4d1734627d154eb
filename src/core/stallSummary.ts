// One page when many streams stop at once. A gateway, a switch or a PLC that dies takes every stream behind it
// silent within seconds; an IngestionStalled page per stream sends the operator 200 pages for one fault. So a
// new stall is held `groupWaitMs` before it pages. If `fireAfter` streams have stalled within that wait (held
// ones included), one StreamsStalled alert pages with the count and some ids, and those stalls, and every stall
// after them while it fires, are summarised: each still fires and resolves on its own stream (InfluxDB, the
// status page's history, the log) but carries `summarisedBy` and reaches no pager. The summary resolves when the
// last summarised stream sends again. A held stall that no group joins pages by itself when its wait ends.
//
// Nothing here is saved. A summarised stall keeps `summarisedBy` in the state file, so after a restart the
// summary is taken up again from the streams' restored alerts (without a new page) and resolves with them.
// Clock-free: the pipeline passes the time.
import type { AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';
import { daemonAlertNotice } from './daemonAlert';

/** The summary's stream label: no single stream is at fault. */
export const STALL_SUMMARY_STREAM = '_ingestion';
const EXAMPLES = 5;
const NONE: readonly AlertNotice[] = Object.freeze([]);

export interface StallSummaryOptions {
  /** Stalls within groupWaitMs of each other that page as one summary instead of each. */
  readonly fireAfter: number;
  /** How long a new stall is held before it pages alone (ms). */
  readonly groupWaitMs: number;
  readonly nextSequence: () => number;
}

/** A stall alert that has just fired on its stream, and how to mark it summarised (it updates the stream's copy). */
export interface FreshStall {
  readonly notice: AlertNotice;
  summarise(by: string): AlertNotice;
}

interface Held {
  readonly stall: FreshStall;
  readonly at: number;
}

export class StallSummary {
  private held: Held[] = [];
  private firing: AlertNotice | null = null;
  private readonly fingerprint = alertFingerprint(STALL_SUMMARY_STREAM, 'streams_stalled');

  constructor(private readonly o: StallSummaryOptions) {}

  /** Whether the summary fires (tests, status). */
  get active(): boolean {
    return this.firing !== null;
  }

  /** The firing summary (re-asserted to Alertmanager like the streams' alerts), if any. */
  activeNotices(): AlertNotice[] {
    return this.firing ? [this.firing] : [];
  }

  /**
   * Called periodically with the stalls that fired since the last call and the summarised stalls still firing
   * (their count and the earliest start, counted before this call marks any). Returns the notices to emit, in
   * order; `adopted` is a summary taken up again after a restart, to re-assert (it pages nobody).
   */
  tick(now: number, fresh: readonly FreshStall[], summarisedActive: number, earliestStart: number | null): { notices: readonly AlertNotice[]; adopted: AlertNotice | null } {
    let adopted: AlertNotice | null = null;
    if (!this.firing && summarisedActive > 0) {
      this.firing = this.summaryNotice(earliestStart ?? now, summarisedActive, []);
      adopted = this.firing;
    }
    const out: AlertNotice[] = [];
    const wasFiring = this.firing !== null;
    for (const stall of fresh) {
      if (this.firing) out.push(stall.summarise(this.fingerprint));
      else this.held.push({ stall, at: now });
    }
    if (!this.firing && this.held.length >= this.o.fireAfter) {
      const members = this.held.map((h) => h.stall.notice);
      this.firing = this.summaryNotice(Math.min(...members.map((n) => n.startsAt)), members.length, members.map((n) => n.stream));
      out.push(this.firing);
      for (const h of this.held) out.push(h.stall.summarise(this.fingerprint));
      this.held = [];
    }
    out.push(...this.release((h) => now - h.at >= this.o.groupWaitMs));
    if (wasFiring && fresh.length === 0 && summarisedActive === 0 && this.firing) {
      out.push({ ...this.firing, status: 'resolved', endsAt: now, sequence: this.o.nextSequence() });
      this.firing = null;
    }
    return { notices: out.length > 0 ? out : NONE, adopted };
  }

  /**
   * A stall notice leaves its stream outside tick() (resolved by a sample, retired by a reload): if its firing is
   * still held, the firing goes first, so receivers never see a resolve before its page.
   */
  before(notice: AlertNotice): readonly AlertNotice[] {
    if (this.held.length === 0 || notice.status !== 'resolved') return NONE;
    return this.release((h) => h.stall.notice.fingerprint === notice.fingerprint);
  }

  /** The daemon stops: held stalls page now (their streams' alerts are saved as firing, so they must be sent). */
  flush(): readonly AlertNotice[] {
    return this.release(() => true);
  }

  private release(due: (h: Held) => boolean): AlertNotice[] {
    if (this.held.length === 0) return [];
    const out = this.held.filter(due).map((h) => h.stall.notice);
    if (out.length > 0) this.held = this.held.filter((h) => !due(h));
    return out;
  }

  private summaryNotice(startsAt: number, count: number, streams: readonly string[]): AlertNotice {
    const examples = streams.slice(0, EXAMPLES);
    const more = streams.length > examples.length ? `, and ${streams.length - examples.length} more` : '';
    const detail =
      examples.length > 0
        ? `${count} streams stopped sending within ${this.o.groupWaitMs / 1000} s of each other: ${examples.join(', ')}${more}; later stalls join this alert until every one of them sends again.`
        : `${count} streams that stopped sending together are still silent (taken up again after a restart).`;
    return daemonAlertNotice({ stream: STALL_SUMMARY_STREAM, kind: 'streams_stalled', startsAt, sequence: this.o.nextSequence(), detail });
  }
}
