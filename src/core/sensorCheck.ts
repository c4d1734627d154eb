// Sensor data-quality checks per channel, ahead of the model: a stuck sensor (flatline) and a glitching one
// (spikes). Both are faults of the measurement, not of the machine, and they are what a reconstruction-error
// score is worst at: a stuck value sits inside the training range, so the autoencoder reconstructs it well; a
// spike far outside the range is clipped to the range edge by scaling, so its error is capped. Each raises an
// alert of its own kind (SensorFlatline, SensorSpikes) naming the channels, distinct from anomaly alerts, as
// the ingestion-stall alert is. Pure and clock-free: sample time in, notices out.
//
// flatline: a channel that repeats exactly the same value for `flatlineSamples` consecutive samples. Real
//   analogue sensors carry noise in their last digits, so an exact repeat that long means a frozen value (a
//   stuck transmitter, a gateway repeating its last reading). Off by default: counters, set points and coarse
//   sensors repeat values legitimately.
// spikes: a sample that jumps away from both neighbours, in the same direction, by more than `spikeFactor`
//   times the channel's typical sample-to-sample change (a running mean of |change| that outliers cannot
//   inflate), `spikeCount` times within `spikeWindowSamples` samples. A step or a ramp moves away from one
//   neighbour only, so it is left to the model. Judged one sample late (the next sample is the second neighbour).
//
// The per-channel history and the firing alerts are persisted (snapshot/restore): after a restart a sensor that
// is still stuck keeps its alert without a second page, and one that recovered resolves it.
import type { AlertKind, AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';
import { isNumber, reviveFiringNotice } from './alertNoticeCheck';
import { retiredNotice } from './alertRetire';

export interface SensorCheckOptions {
  readonly stream: string;
  readonly model: string;
  readonly channels: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Identical consecutive values that make a flatline; 0 disables the check. */
  readonly flatlineSamples: number;
  /** Spike size in typical sample-to-sample changes; 0 disables the check. */
  readonly spikeFactor: number;
  /** Spikes within spikeWindowSamples that raise the alert. */
  readonly spikeCount: number;
  readonly spikeWindowSamples: number;
  readonly nextSequence: () => number;
}

/** Samples a channel is observed before spikes are judged (its typical change must be known first). */
const SPIKE_WARMUP = 50;
/** Weight of the newest |change| in the running mean (about the last 100 samples). */
const SCALE_ALPHA = 0.01;

export const SENSOR_SNAPSHOT_VERSION = 1;

/** A channel's history as JSON keeps it (NaN, "no value", as null). */
export interface ChannelSnapshot {
  readonly last: number | null;
  readonly run: number;
  readonly before: number | null;
  readonly pending: number | null;
  readonly seen: number;
  readonly scale: number;
  readonly spikes: readonly number[];
}

/** What the state file keeps of a stream's sensor checks. */
export interface SensorSnapshot {
  readonly version: typeof SENSOR_SNAPSHOT_VERSION;
  /** The channel order the history belongs to; a different order after a restart restarts the history. */
  readonly channels: readonly string[];
  readonly sampleNo: number;
  readonly state: readonly ChannelSnapshot[];
  readonly flatline: AlertNotice | null;
  readonly spiking: AlertNotice | null;
}

/** Reason of the resolve sent when a check is turned off while its alert fires. */
const CHECK_OFF = 'The check was turned off in the configuration while its alert was firing.';

interface ChannelState {
  last: number;
  run: number;
  /** The two latest values: [x(t-1), x(t)], x(t) waiting to be judged. */
  before: number;
  pending: number;
  seen: number;
  scale: number;
  /** Sample numbers of recent spikes. */
  spikes: number[];
}

export class SensorCheck {
  /** Per channel; empty while both checks are off (the default): 2 objects a channel, most of a stream's. */
  private readonly state: ChannelState[];
  private sampleNo = 0;
  private flatline: AlertNotice | null = null;
  private spiking: AlertNotice | null = null;
  /** Counts changes of what snapshot() holds: the checkpoint copies changed streams only. */
  private changes = 0;

  constructor(private readonly o: SensorCheckOptions) {
    this.state = this.enabled ? o.channels.map(() => ({ last: NaN, run: 0, before: NaN, pending: NaN, seen: 0, scale: 0, spikes: [] })) : [];
  }

  get enabled(): boolean {
    return this.o.flatlineSamples > 0 || this.o.spikeFactor > 0;
  }

  /** The same stream under new options (config reload): per-channel history and firing alerts carry over. */
  reconfigured(o: SensorCheckOptions): SensorCheck {
    const next = new SensorCheck(o);
    if (o.channels.join('\u0000') !== this.o.channels.join('\u0000')) return next;
    // A check turned on now starts its history afresh (while off, none was kept).
    if (this.state.length > 0) next.state.splice(0, next.state.length, ...this.state);
    next.sampleNo = this.sampleNo;
    next.flatline = this.flatline;
    next.spiking = this.spiking;
    return next;
  }

  /** The firing alerts (re-asserted to Alertmanager after a restart). */
  active(): AlertNotice[] {
    return [this.flatline, this.spiking].filter((n): n is AlertNotice => n !== null);
  }

  get revision(): number {
    return this.changes;
  }

  snapshot(): SensorSnapshot {
    const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
    return {
      version: SENSOR_SNAPSHOT_VERSION,
      // Without a history (checks off) no channel order: a restore then takes only the firing alerts.
      channels: this.state.length > 0 ? [...this.o.channels] : [],
      sampleNo: this.sampleNo,
      state: this.state.map((c) => ({ last: orNull(c.last), run: c.run, before: orNull(c.before), pending: orNull(c.pending), seen: c.seen, scale: c.scale, spikes: [...c.spikes] })),
      flatline: this.flatline,
      spiking: this.spiking,
    };
  }

  /**
   * Continues from a persisted snapshot (parsed JSON) after a restart. The firing alerts always carry over (so
   * each ends with a resolve); the channel history only when the channels are the same, in the same order.
   * Throws, changing nothing, when the snapshot is unusable.
   */
  restore(snapshot: unknown): void {
    const problem = (why: string): TypeError => new TypeError(`Sensor-check state of stream '${this.o.stream}' not restored: ${why}`);
    const s = snapshot as Partial<SensorSnapshot> | null;
    if (typeof s !== 'object' || s === null || s.version !== SENSOR_SNAPSHOT_VERSION) throw problem('unsupported content');
    const firing = (value: unknown, kind: AlertKind): AlertNotice | null => {
      if (value === null || value === undefined) return null;
      const n = reviveFiringNotice(value, kind, this.o.stream);
      if (typeof n === 'string') throw problem(n);
      return n;
    };
    const flatline = firing(s.flatline, 'sensor_flatline');
    const spiking = firing(s.spiking, 'sensor_spikes');
    const same = Array.isArray(s.channels) && s.channels.join('\u0000') === this.o.channels.join('\u0000');
    const state: ChannelState[] = [];
    if (same) {
      if (!isNumber(s.sampleNo) || !Array.isArray(s.state) || s.state.length !== this.o.channels.length) throw problem('bad channel history');
      for (const c of s.state as unknown[]) {
        const restored = channelState(c);
        if (!restored) throw problem('bad channel history');
        state.push(restored);
      }
      this.state.splice(0, this.state.length, ...state);
      this.sampleNo = s.sampleNo;
    }
    this.flatline = flatline;
    this.spiking = spiking;
    this.changes++;
  }

  /** The stream is no longer monitored (removed by a config reload): resolves the firing alerts with `reason`. */
  retire(now: number, reason: string): AlertNotice[] {
    const out = this.active().map((n) => retiredNotice(n, now, reason, this.o.nextSequence()));
    this.flatline = this.spiking = null;
    this.changes++;
    return out;
  }

  /** One sample (values in channel order, NaN = missing), in time order. Returns the notices to emit. */
  observe(ts: number, values: ArrayLike<number>): AlertNotice[] {
    const n = ++this.sampleNo;
    this.changes++;
    const { flatlineSamples, spikeFactor, spikeWindowSamples } = this.o;
    for (let c = 0; c < this.state.length; c++) {
      const s = this.state[c];
      // Judged at the window's precision (float32), as the model sees the value: a CSV replay (read as float32)
      // and the live daemon (doubles from JSON) then see the same repeats and the same jumps.
      const x = Math.fround(values[c]);
      if (Number.isNaN(x)) {
        // A gap breaks both a repeat run and the neighbourhood a spike is judged in.
        s.run = 0;
        s.last = NaN;
        s.before = s.pending = NaN;
        continue;
      }
      if (flatlineSamples > 0) {
        // fround: a state saved before values were rounded holds a double.
        s.run = x === Math.fround(s.last) ? s.run + 1 : 1;
        s.last = x;
      }
      if (spikeFactor > 0) this.judgeSpike(s, x, n);
      while (s.spikes.length > 0 && s.spikes[0] <= n - spikeWindowSamples) s.spikes.shift();
    }
    const out: AlertNotice[] = [];
    if (flatlineSamples > 0) this.flatline = this.update('sensor_flatline', this.flatline, (s) => s.run >= flatlineSamples, ts, out);
    else if (this.flatline) this.flatline = this.turnedOff(this.flatline, ts, out);
    if (spikeFactor > 0) this.spiking = this.update('sensor_spikes', this.spiking, (s) => s.spikes.length >= this.o.spikeCount, ts, out);
    else if (this.spiking) this.spiking = this.turnedOff(this.spiking, ts, out);
    return out;
  }

  private judgeSpike(s: ChannelState, x: number, n: number): void {
    const { before, pending } = s;
    s.before = pending;
    s.pending = x;
    if (Number.isNaN(before) || Number.isNaN(pending)) return;
    const d1 = pending - before;
    const d2 = pending - x;
    const limit = this.o.spikeFactor * s.scale;
    const spike = s.seen >= SPIKE_WARMUP && limit > 0 && Math.sign(d1) === Math.sign(d2) && Math.min(Math.abs(d1), Math.abs(d2)) > limit;
    if (spike) s.spikes.push(n - 1);
    // The running scale learns from ordinary changes only (capped), so a burst of spikes cannot hide the next.
    const change = Math.abs(x - pending);
    s.scale = s.seen === 0 ? change : s.scale + SCALE_ALPHA * (Math.min(change, limit > 0 ? limit : change) - s.scale);
    s.seen++;
  }

  /** A firing alert whose check a reload or restart turned off would never resolve: resolve it, saying why. */
  private turnedOff(firing: AlertNotice, ts: number, out: AlertNotice[]): null {
    out.push(retiredNotice(firing, ts, CHECK_OFF, this.o.nextSequence()));
    return null;
  }

  private update(kind: AlertKind, firing: AlertNotice | null, bad: (s: ChannelState) => boolean, ts: number, out: AlertNotice[]): AlertNotice | null {
    const channels = this.o.channels.filter((_, c) => bad(this.state[c]));
    if (channels.length > 0 && !firing) {
      const notice = this.notice(kind, 'firing', ts, channels);
      out.push(notice);
      return notice;
    }
    if (channels.length === 0 && firing) {
      out.push({ ...firing, status: 'resolved', endsAt: ts, sequence: this.o.nextSequence() });
      return null;
    }
    return firing;
  }

  private notice(kind: AlertKind, status: 'firing', ts: number, channels: readonly string[]): AlertNotice {
    return {
      fingerprint: alertFingerprint(this.o.stream, kind),
      stream: this.o.stream,
      model: this.o.model,
      kind,
      status,
      severity: 'warning',
      startsAt: ts,
      endsAt: null,
      score: NaN,
      threshold: NaN,
      pValue: NaN,
      topChannels: channels.map((channel) => ({ channel, share: 1 / channels.length })),
      sequence: this.o.nextSequence(),
      labels: this.o.labels,
    };
  }
}

/** A channel's history from its snapshot, or null when the snapshot is damaged. */
function channelState(value: unknown): ChannelState | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Record<string, unknown>;
  const maybe = (x: unknown): number | null => (x === null ? NaN : isNumber(x) ? x : null);
  const last = maybe(c['last']);
  const before = maybe(c['before']);
  const pending = maybe(c['pending']);
  const spikes = c['spikes'];
  if (last === null || before === null || pending === null || !isNumber(c['run']) || !isNumber(c['seen']) || !isNumber(c['scale'])) return null;
  if (!Array.isArray(spikes) || !spikes.every(isNumber)) return null;
  return { last, run: c['run'], before, pending, seen: c['seen'], scale: c['scale'], spikes: [...spikes] };
}
