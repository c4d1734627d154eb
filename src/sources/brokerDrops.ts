// The broker's own count of dropped messages turned into increases a Prometheus counter can follow.
//
// Mosquitto publishes `$SYS/broker/publish/messages/dropped` (a count since the broker started) retained, only
// when it changes, with a 60 s message expiry; `$SYS/broker/uptime` every sys_interval. So on subscribing
// (dropped first, then uptime, in one SUBSCRIBE) the retained count, if any, arrives before the uptime:
// - a count before the first uptime is the broker's current count: drops from before anomalyd watched
//   (reported, not counted) the first time, the baseline after a reconnect;
// - no count before the uptime means the count has not changed for a minute and its value is unknown; the
//   first change seen then is reported but not counted (how much of it is new cannot be known), later ones are;
// - an uptime lower than the last one means the broker restarted: its count started again at 0, so the whole
//   new count is new drops. A count lower than the last one means the same where no uptime is published.
// The counter therefore never overstates; it can miss the drops of the first change after a quiet minute.

export type DropKind =
  /** Counted: the broker dropped `increase` messages while anomalyd watched. */
  | 'new'
  /** The first count read: drops from before anomalyd watched (the daemon was down, or just started). */
  | 'before_watch'
  /** The count changed, but its value before was not known (it had not changed for a minute). */
  | 'unknown_start';

export interface DropChange {
  readonly kind: DropKind;
  /** Messages dropped since the last count read; for before_watch and unknown_start, the whole count. */
  readonly increase: number;
  /** The broker's count as read. */
  readonly brokerCount: number;
}

export class BrokerDropTracker {
  private baseline: number | undefined;
  private lastUptimeS: number | undefined;
  /** Until the first uptime of a connection, counts are its retained value: held until then. */
  private settled = false;
  private held: number | undefined;

  /** A new connection subscribed: the next messages are the retained ones. */
  connected(): void {
    this.settled = false;
    this.held = undefined;
  }

  uptime(seconds: number): DropChange | null {
    const restarted = this.lastUptimeS !== undefined && seconds < this.lastUptimeS;
    this.lastUptimeS = seconds;
    if (restarted) this.baseline = 0;
    return this.settle();
  }

  /** The retained messages are in (an uptime arrived, or the broker publishes none and the wait is over). */
  settle(): DropChange | null {
    if (this.settled) return null;
    this.settled = true;
    const held = this.held;
    this.held = undefined;
    return held === undefined ? null : this.count(held, true);
  }

  dropped(count: number): DropChange | null {
    if (!this.settled) {
      this.held = count;
      return null;
    }
    return this.count(count, false);
  }

  private count(count: number, retained: boolean): DropChange | null {
    const base = this.baseline;
    this.baseline = count;
    if (base === undefined) {
      if (retained) return count > 0 ? { kind: 'before_watch', increase: count, brokerCount: count } : null;
      return { kind: 'unknown_start', increase: count, brokerCount: count };
    }
    const increase = count < base ? count : count - base;
    return increase > 0 ? { kind: 'new', increase, brokerCount: count } : null;
  }
}

/** A `$SYS` counter payload ("259"; uptime: "814 seconds") as a count, or null when it is not one. */
export function parseSysCount(payload: Buffer | string): number | null {
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
  const m = /^(\d{1,15})( seconds)?$/.exec(text);
  return m ? Number(m[1]) : null;
}
