// An alert's top channels with what each read, what the model expected and the training range, in the forms the
// sinks carry them: JSON fields of the webhook body, one readable sentence for Alertmanager annotations, the
// console line and the InfluxDB alert point.
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

/** "read 92.1, expected 61.4 (training 55 to 70)", or undefined without a reading. */
export function formatReading(s: ChannelShare): string | undefined {
  const r = s.reading;
  const observed = known(r?.observed);
  const expected = known(r?.expected);
  if (r === undefined || observed === null || expected === null) return undefined;
  const lo = known(r.trainingMin);
  const hi = known(r.trainingMax);
  const range = lo !== null && hi !== null ? ` (training ${formatValue(lo)} to ${formatValue(hi)})` : '';
  return `read ${formatValue(observed)}, expected ${formatValue(expected)}${range}`;
}

/** "bearing_temp_c read 92.1, expected 61.4" (a title's length), or undefined without a reading. */
export function briefReading(s: ChannelShare): string | undefined {
  const observed = known(s.reading?.observed);
  const expected = known(s.reading?.expected);
  return observed === null || expected === null ? undefined : `${s.channel} read ${formatValue(observed)}, expected ${formatValue(expected)}`;
}

/** "bearing_temp_c read 92.1, expected 61.4 (training 55 to 70); vib_x ..." ('' when no channel has a reading). */
export function formatReadings(top: readonly ChannelShare[]): string {
  const parts: string[] = [];
  for (const s of top) {
    const reading = formatReading(s);
    if (reading !== undefined) parts.push(`${s.channel} ${reading}`);
  }
  return parts.join('; ');
}

/** Four significant digits, exponent form only for the very large or small: 92.1, 1524, 0.739, 2.5e-5. */
export function formatValue(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** A finite number, or null (unknown: absent, or NaN that JSON wrote as null in the state file). */
function known(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
