// Console sink: one readable line per alert transition on stdout, for the embedded demo and for operators
// watching a terminal. Logs go to stderr, so stdout carries only these lines.
import { reachesPagers, type AlertNotice } from '../core/alert';
import { FLAPPING_LABEL } from '../core/alerting';
import type { ComponentContext } from '../core/context';
import { formatPValue, formatShares, rfc3339 } from './alertPayload';
import { formatReadings } from '../core/channelReading';
import type { Sink, SinkStats } from './sink';

export interface ConsoleSinkOptions {
  /** Where lines go; default stdout. */
  readonly write?: (line: string) => void;
}

export class ConsoleSink implements Sink {
  readonly name = 'console';
  /** Fingerprints printed as firing: a second firing notice of the same alert is an escalation. */
  private readonly firing = new Set<string>();
  private readonly write: (line: string) => void;

  constructor(
    private readonly ctx: ComponentContext,
    options: ConsoleSinkOptions = {},
  ) {
    this.write = options.write ?? ((line) => void process.stdout.write(line));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  writeAlert(notice: AlertNotice): void {
    // Summarised (one stall among many at once): the summary's line speaks for it.
    if (!reachesPagers(notice)) return;
    const escalated = notice.status === 'firing' && this.firing.has(notice.fingerprint);
    if (notice.status === 'firing') this.firing.add(notice.fingerprint);
    else this.firing.delete(notice.fingerprint);
    this.write(`${formatNotice(notice, escalated ? this.ctx.clock.now() : undefined)}\n`);
    this.ctx.events.sinkWritten(this.name, 1);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  stats(): SinkStats {
    return { buffered: 0, spooledBytes: 0 };
  }
}

/**
 * `2024-05-01T12:00:00.000Z FIRING   critical line1/pump1  score 0.0123 > threshold 0.0040  p=3.2e-6  top: vib_x 61%, vib_y 20%  vib_x read 2.91, expected 1.32 (training 0.739 to 2.18); vib_y ...`
 * `escalatedAt` marks a re-notification of a firing alert (severity raised) and is the time shown.
 */
export function formatNotice(notice: AlertNotice, escalatedAt?: number): string {
  const flapping = notice.labels[FLAPPING_LABEL] === 'true';
  const word = notice.status === 'resolved' ? 'RESOLVED' : escalatedAt !== undefined ? 'ESCALATED' : flapping ? 'FLAPPING' : 'FIRING';
  const time = rfc3339(notice.endsAt ?? escalatedAt ?? notice.startsAt);
  const head = `${time} ${word.padEnd(9)} ${notice.severity.padEnd(8)} ${notice.stream}`;
  if (notice.kind === 'ingestion_stalled') {
    return `${head}  ${notice.status === 'firing' ? 'ingestion stalled: no samples' : 'samples arrive again'}`;
  }
  if (notice.kind === 'streams_stalled') {
    return `${head}  ${notice.status === 'firing' ? `streams stalled together: ${notice.detail ?? ''}` : 'the streams that stalled together send again'}`;
  }
  if (notice.kind === 'streams_refused') {
    return `${head}  ${notice.status === 'firing' ? 'new streams refused' : 'new streams no longer refused'}: ${notice.detail ?? ''}`;
  }
  if (notice.kind === 'timestamps_rejected') {
    return `${head}  ${notice.status === 'firing' ? `sample times rejected: ${notice.detail ?? 'every message'}` : 'sample times right again'}`;
  }
  if (notice.kind === 'sensor_flatline' || notice.kind === 'sensor_spikes') {
    const what = notice.kind === 'sensor_flatline' ? 'sensor flatline (stuck value)' : 'sensor spikes';
    return `${head}  ${notice.status === 'firing' ? what : `${what} cleared`}: ${notice.topChannels.map((c) => c.channel).join(', ')}`;
  }
  if (notice.kind === 'insufficient_data') {
    return `${head}  ${notice.status === 'firing' ? 'insufficient data: windows too incomplete to score' : 'data complete again'}`;
  }
  const relation = notice.score > notice.threshold ? '>' : notice.score < notice.threshold ? '<' : '=';
  const numbers = `score ${notice.score.toPrecision(4)} ${relation} threshold ${notice.threshold.toPrecision(4)}  p=${formatPValue(notice.pValue)}`;
  const readings = formatReadings(notice.topChannels);
  const top = (notice.topChannels.length > 0 ? `  top: ${formatShares(notice.topChannels)}` : '') + (readings === '' ? '' : `  ${readings}`);
  const lasted = notice.endsAt !== null ? `  (firing for ${duration(notice.endsAt - notice.startsAt)})` : '';
  return `${head}  ${numbers}${top}${lasted}`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
