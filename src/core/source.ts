// The Source interface: MQTT, replayed files and the simulator all deliver decoded samples per stream.
// `deliver` may return a promise: a source with backpressure (MQTT QoS 1) waits for it before taking (and
// acknowledging) the next message, so a full pipeline holds messages at the broker instead of dropping them.
import type { Sample } from './types';

export interface StreamSamples {
  /** Stream id from the subscription's template, e.g. 'line1/pump3'. */
  readonly stream: string;
  /** Index of the subscription (config order) that produced it: it names the model and channels. */
  readonly subscription: number;
  /** Labels from the topic template (e.g. { line: 'line1', asset: 'pump3' }). */
  readonly labels: Readonly<Record<string, string>>;
  /** Samples in channel order of the subscription (or of `channels`), time-ordered. */
  readonly samples: readonly Sample[];
  /**
   * The samples' channels where the source learnt them from the data (a Sparkplug B subscription without
   * `channels`: the stream's birth); the same array while they do not change. Absent: the subscription's.
   */
  readonly channels?: readonly string[];
  /**
   * When the source received them (ms, the daemon's clock), so the pipeline need not read the clock again per
   * message; absent (replayed batches, files): the pipeline reads its clock.
   */
  readonly receivedAt?: number;
  /**
   * Set on a message rejected for its sample times (then `samples` is empty): the pipeline tells the stream's
   * stall detector, so a stream that sends only wrongly timed samples raises TimestampsRejected, not a stall.
   * Never journaled (nothing to keep).
   */
  readonly timeRejected?: { readonly reason: 'future_timestamp' | 'too_old'; readonly detail: string };
}

export type Deliver = (batch: StreamSamples) => void | Promise<void>;

export interface Source {
  readonly name: string;
  start(deliver: Deliver): Promise<void>;
  stop(): Promise<void>;
  /** True while connected (MQTT) or running. */
  readonly connected: boolean;
}
