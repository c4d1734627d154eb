// From OPC UA data changes to samples. The server reports each monitored item on its own (a value, a status code,
// a source and a server timestamp), and only when it changed; a sample is one time step of every channel of a
// stream. So each stream keeps the last value of each channel, and the changes of one notification message with
// the same time make one sample: the changed channels take their new value, the others keep theirs (unchanged
// is what OPC UA's silence means). A value whose status is not Good makes its channel unknown (NaN, which the
// window fills as any gap) until a Good one comes. Server timestamps are snapped to the sampling grid, since
// the server samples each item on its own timer a few milliseconds apart. Pure: no node-opcua types, no clock.

/** Status code severity (its top two bits): Good, Uncertain, Bad. */
export type Quality = 'good' | 'uncertain' | 'bad';

export function qualityOf(status: number): Quality {
  const severity = status >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

/** The Overflow info bit (InfoType DataValue, bit 7): the server's queue for the item dropped values. */
export function hasOverflow(status: number): boolean {
  return (status & 0x0000_0480) === 0x0000_0480;
}

/** What a monitored item feeds. */
export interface ItemTarget {
  /** Index of the OPC UA subscription = the stream (in config order). */
  readonly subscription: number;
  readonly channel: number;
}

export type ValueVerdict = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly why: string };

/** A number the model can read: finite numbers and booleans (0/1); anything else (text, arrays, structures) is not. */
export function numericValue(value: unknown): ValueVerdict {
  if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, value } : { ok: false, why: `not a finite number (${value})` };
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, why: 'a 64-bit integer beyond 2^53' };
  }
  if (value === null || value === undefined) return { ok: false, why: 'no value' };
  return { ok: false, why: `not a number (${Array.isArray(value) || ArrayBuffer.isView(value) ? 'an array' : typeof value})` };
}

export interface AssembledSample {
  readonly subscription: number;
  readonly ts: number;
  readonly values: Float64Array;
}

/** A value for one channel at one time, or `value: NaN` for a channel that went unknown. */
export interface ChannelValue {
  readonly target: ItemTarget;
  readonly ts: number;
  readonly value: number;
}

/**
 * Per stream, the last value of every channel; `channels[k]` is the channel count of stream k.
 *
 * The changes of one time normally come in one notification message, but not always: items sampled on their own
 * timers (sampling_interval_ms > 0), or made again by node-opcua after a server restart, can report the same
 * time in two messages. A time already handed on is not a sample again (the pipeline would count a duplicate):
 * its late changes update the stream's last values, which the next sample carries.
 */
export class SampleAssembler {
  private readonly last: Float64Array[];
  /** Per stream, the time of the newest sample handed on (-Infinity before the first). */
  private readonly newest: number[];

  constructor(channels: readonly number[]) {
    this.last = channels.map((n) => new Float64Array(n).fill(Number.NaN));
    this.newest = channels.map(() => Number.NEGATIVE_INFINITY);
  }

  /**
   * The samples one notification message makes, per stream in time order: one per distinct time, each the
   * stream's last values with that time's changes applied; none for the time of the newest sample already made.
   */
  take(changes: readonly ChannelValue[]): AssembledSample[] {
    const sorted = [...changes].sort((a, b) => a.target.subscription - b.target.subscription || a.ts - b.ts);
    const out: AssembledSample[] = [];
    let current: { subscription: number; ts: number; values: Float64Array; late: boolean } | null = null;
    for (const c of sorted) {
      const k = c.target.subscription;
      const last = this.last[k];
      if (last === undefined) continue;
      if (current === null || current.subscription !== k || current.ts !== c.ts) {
        if (current !== null) this.emit(current, out);
        current = { subscription: k, ts: c.ts, values: Float64Array.from(last), late: c.ts === this.newest[k] };
      }
      current.values[c.target.channel] = c.value;
      last[c.target.channel] = c.value;
    }
    if (current !== null) this.emit(current, out);
    return out;
  }

  private emit(s: { subscription: number; ts: number; values: Float64Array; late: boolean }, out: AssembledSample[]): void {
    if (s.late) return;
    out.push({ subscription: s.subscription, ts: s.ts, values: s.values });
    this.newest[s.subscription] = Math.max(this.newest[s.subscription] ?? s.ts, s.ts);
  }
}

/** A server timestamp on the sampling grid (the nearest multiple of the interval); 0 = no grid. */
export function snapToGrid(ts: number, intervalMs: number): number {
  return intervalMs > 0 ? Math.round(ts / intervalMs) * intervalMs : ts;
}
