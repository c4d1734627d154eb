// The broker's own count of dropped messages (Mosquitto: `$SYS/broker/publish/messages/dropped`, a count since
// the broker started) turned into increases a Prometheus counter can follow. The first count read is what the
// broker dropped before anomalyd watched (reported, not counted); a count lower than the last one means the
// broker restarted (its count starts again at 0), so the whole new count is new drops. A restart whose new count
// already exceeds the old one when anomalyd reads it is seen as the difference (under-counted, never negative).

export interface DropChange {
  /** Messages dropped since the last count read (or since the broker started, when `beforeWatch`). */
  readonly increase: number;
  /** The broker's count as read. */
  readonly brokerCount: number;
  /** The first count read: drops from before anomalyd watched (the daemon was down, or just started). */
  readonly beforeWatch: boolean;
}

export class BrokerDropTracker {
  private last: number | undefined;

  /** One count as the broker published it; null when there is nothing to report. */
  observe(count: number): DropChange | null {
    const last = this.last;
    this.last = count;
    if (last === undefined) return count > 0 ? { increase: count, brokerCount: count, beforeWatch: true } : null;
    const increase = count < last ? count : count - last;
    return increase > 0 ? { increase, brokerCount: count, beforeWatch: false } : null;
  }
}

/** A `$SYS` counter payload ("259", Mosquitto sends decimal text) as a count, or null when it is not one. */
export function parseSysCount(payload: Buffer | string): number | null {
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}
