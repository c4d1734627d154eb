// An alert's top channels with what each read, what the model expected and the training range, as the JSON fields
// of a webhook alert. The readable sentence (Alertmanager annotations, console line, InfluxDB alert point, log
// line) is core/channelReading.ts's formatReadings.
import type { ChannelShare } from '../core/alert';

/** One entry of a webhook alert's `top_channels`: the share, and the reading where the notice has one (else null). */
export interface PayloadChannel {
  readonly channel: string;
  readonly share: number;
  readonly observed: number | null;
  readonly expected: number | null;
  readonly training_min: number | null;
  readonly training_max: number | null;
}

export function payloadChannels(top: readonly ChannelShare[]): PayloadChannel[] {
  return top.map((s) => ({
    channel: s.channel,
    share: s.share,
    observed: known(s.reading?.observed),
    expected: known(s.reading?.expected),
    training_min: known(s.reading?.trainingMin),
    training_max: known(s.reading?.trainingMax),
  }));
}

/** A finite number, or null (unknown: absent, or NaN that JSON wrote as null in the state file). */
function known(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
