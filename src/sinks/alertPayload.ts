// Notices in Alertmanager's vocabulary: the webhook v4 body (what Alertmanager itself sends to receivers, so
// existing receivers parse ours), plus anomalyd's fields per alert, and the label/annotation sets the
// Alertmanager sink posts. One notice makes one body with one alert: pages are rare and ordering per alert
// matters more than batching.
import { alertName, type AlertNotice, type ChannelShare } from '../core/alert';
import { FLAPPING_LABEL } from '../core/alerting';
import { briefReading, formatReadings } from '../core/channelReading';
import { payloadChannels, type PayloadChannel } from './channelDetails';

/** What Alertmanager writes as endsAt of an alert that has not ended. */
export const ALERTMANAGER_ZERO_TIME = '0001-01-01T00:00:00Z';

export interface PayloadOptions {
  /** Receiver name (the webhook's `name`). */
  readonly receiver: string;
  /** Base URL of anomalyd's status page, for externalURL and each alert's generatorURL. */
  readonly externalUrl: string;
}

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
  readonly score: number | null;
  readonly threshold: number;
  readonly p_value: number | null;
  /** Each with what it read, what the model expected and its training range (null where unknown). */
  readonly top_channels: readonly PayloadChannel[];
  readonly sequence: number;
}

export interface WebhookBody {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** Template labels first, so they can never overwrite alertname, stream, model or severity. */
export function alertLabels(notice: AlertNotice): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(notice.labels)) labels[labelName(name)] = value;
  labels['alertname'] = alertName(notice.kind);
  labels['stream'] = notice.stream;
  labels['model'] = notice.model;
  labels['severity'] = notice.severity;
  return labels;
}

/**
 * summary and description; a resolve with a reason (the stream or check is no longer watched) says so instead of
 * claiming recovery, and carries the reason on its own as `resolve_reason` for receivers that route on it.
 */
export function alertAnnotations(notice: AlertNotice): Record<string, string> & { summary: string; description: string } {
  const annotations = ownAnnotations(notice);
  // A page held by a maintenance window and sent when the window ended with the alert still firing says so.
  if (notice.maintenanceEnded === undefined) return annotations;
  return { ...annotations, description: `${annotations.description} It is ${notice.maintenanceEnded}.`, maintenance: notice.maintenanceEnded };
}

function ownAnnotations(notice: AlertNotice): Record<string, string> & { summary: string; description: string } {
  if (notice.status === 'resolved' && notice.reason !== undefined) {
    return {
      summary: `${alertName(notice.kind)} on stream ${notice.stream} closed: no longer checked`,
      description: notice.reason,
      resolve_reason: notice.reason,
    };
  }
  return conditionAnnotations(notice);
}

function conditionAnnotations(notice: AlertNotice): Record<string, string> & { summary: string; description: string } {
  const flapping = notice.labels[FLAPPING_LABEL] === 'true';
  if (notice.kind === 'insufficient_data') {
    return notice.status === 'firing'
      ? {
          summary: `Not enough data to score stream ${notice.stream}`,
          description: `Windows of stream ${notice.stream} are too incomplete to score; its anomaly state is unknown until data returns.`,
        }
      : { summary: `Data for stream ${notice.stream} is back`, description: `Stream ${notice.stream} delivers complete windows again.` };
  }
  if (notice.kind === 'ingestion_stalled') {
    return notice.status === 'firing'
      ? {
          summary: `Stream ${notice.stream} stopped sending data`,
          description: `No samples from stream ${notice.stream} since ${rfc3339(notice.startsAt)}: check the sensor, gateway or broker path. This is not an anomaly verdict.`,
        }
      : { summary: `Stream ${notice.stream} is sending again`, description: `Samples from stream ${notice.stream} arrive again.` };
  }
  if (notice.kind === 'timestamps_rejected') {
    return notice.status === 'firing'
      ? {
          summary: `Sample times of stream ${notice.stream} are rejected`,
          description:
            `Every message of stream ${notice.stream} since ${rfc3339(notice.startsAt)} was rejected for its timestamps` +
            `${notice.detail ? `: ${notice.detail}` : ''}. Check the sender's clock (NTP), or the subscription's ` +
            'timestamp.max_future_skew_ms / timestamp.max_age_ms. The stream is not scored meanwhile; this is not an anomaly verdict.',
          ...(notice.detail ? { timestamp_problem: notice.detail } : {}),
        }
      : { summary: `Sample times of stream ${notice.stream} are right again`, description: `Stream ${notice.stream} sends correctly timed samples again and is scored.` };
  }
  if (notice.kind === 'streams_refused') {
    return notice.status === 'firing'
      ? {
          summary: 'Messages of new streams are refused',
          description:
            `Since ${rfc3339(notice.startsAt)}, messages of streams the daemon does not track yet are refused${notice.detail ? `: ${notice.detail}` : ''}. ` +
            "Made-up topics on the broker, or a real stream the subscription's allow_streams, new_streams_per_minute or limits.max_streams keeps out; " +
            'anomalyd_messages_rejected_total{reason} counts them by reason. This is one alert for all of them, not an anomaly verdict.',
          ...(notice.detail ? { refused: notice.detail } : {}),
        }
      : { summary: 'New streams are no longer refused', description: `No message of a new stream was refused for a while${notice.detail ? `; in all, ${notice.detail}` : ''}.` };
  }
  if (notice.kind === 'streams_stalled') {
    return notice.status === 'firing'
      ? {
          summary: 'Many streams stopped sending at once',
          description:
            `Since ${rfc3339(notice.startsAt)}: ${notice.detail ?? 'many streams stopped sending together'} ` +
            'A gateway, network path or PLC in front of them is the likely cause, not the machines. Each stream still has its own ' +
            'IngestionStalled alert (InfluxDB, the status page) without a page of its own; this is not an anomaly verdict.',
          ...(notice.detail ? { stalled: notice.detail } : {}),
        }
      : { summary: 'The streams that stopped together send again', description: 'Every stream summarised by this alert sends samples again.' };
  }
  if (notice.kind === 'sensor_flatline' || notice.kind === 'sensor_spikes') {
    const channels = notice.topChannels.map((c) => c.channel).join(', ');
    const what = notice.kind === 'sensor_flatline' ? 'repeats exactly the same value (stuck sensor?)' : 'spikes away from its neighbours (glitching sensor?)';
    return notice.status === 'firing'
      ? {
          summary: `Sensor fault on stream ${notice.stream}: ${channels}`,
          description: `Channel(s) ${channels} of stream ${notice.stream} ${what}. This is a data-quality alert, not an anomaly verdict on the machine.`,
        }
      : { summary: `Sensors of stream ${notice.stream} look normal again`, description: `The ${alertName(notice.kind)} condition on stream ${notice.stream} has cleared.` };
  }
  const top = formatShares(notice.topChannels);
  const numbers = `score ${fmt(notice.score)} vs threshold ${fmt(notice.threshold)} (p = ${formatPValue(notice.pValue)})`;
  // What the top channels read against what the model expected: its own annotation for templates and routing,
  // and in the description of a firing alert, which is what most receivers show.
  const readings = formatReadings(notice.topChannels);
  const withReadings: Record<string, string> = readings === '' ? {} : { readings };
  if (notice.status === 'resolved') {
    return { summary: `Stream ${notice.stream} is back to normal`, description: `Stream ${notice.stream} is calm again: ${numbers}.`, ...withReadings };
  }
  // The title a pager shows: the top channel's reading says at a glance what is off.
  const headline = notice.topChannels.length > 0 ? briefReading(notice.topChannels[0]) : undefined;
  const summary = flapping
    ? `Anomaly alert on stream ${notice.stream} is flapping`
    : `Anomaly on stream ${notice.stream}${headline === undefined ? '' : `: ${headline}`}`;
  const lead = flapping ? 'Anomalies keep starting and stopping' : 'Reconstruction error above threshold';
  const read = readings === '' ? '' : ` ${readings}.`;
  return { summary, description: `${lead} on ${notice.stream}: ${numbers}; top channels: ${top || 'none'}.${read}`, ...withReadings };
}

/** Small tail probabilities in exponent form ("3.2e-6"), the others with two digits ("0.041"). */
export function formatPValue(p: number): string {
  return p > 0 && p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);
}

/** "vib_x 61%, vib_y 20%" */
export function formatShares(shares: readonly ChannelShare[]): string {
  return shares.map((s) => `${s.channel} ${Math.round(s.share * 100)}%`).join(', ');
}

export function generatorUrl(externalUrl: string, stream: string): string {
  return `${externalUrl.replace(/\/+$/, '')}/?stream=${encodeURIComponent(stream)}`;
}

export function webhookAlert(notice: AlertNotice, externalUrl: string): WebhookAlert {
  const noScore = notice.kind !== 'anomaly';
  return {
    status: notice.status,
    labels: alertLabels(notice),
    annotations: alertAnnotations(notice),
    startsAt: rfc3339(notice.startsAt),
    endsAt: notice.endsAt === null ? ALERTMANAGER_ZERO_TIME : rfc3339(notice.endsAt),
    generatorURL: generatorUrl(externalUrl, notice.stream),
    fingerprint: notice.fingerprint,
    score: noScore ? null : notice.score,
    threshold: notice.threshold,
    p_value: noScore ? null : notice.pValue,
    top_channels: payloadChannels(notice.topChannels),
    sequence: notice.sequence,
  };
}

/** The body POSTed to a webhook receiver for one notice; deterministic, so every retry sends the same bytes. */
export function webhookBody(notice: AlertNotice, options: PayloadOptions): WebhookBody {
  const alert = webhookAlert(notice, options.externalUrl);
  const groupLabels = { alertname: alert.labels['alertname'] ?? '', stream: notice.stream };
  return {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(groupLabels.alertname)}, stream=${JSON.stringify(notice.stream)}}`,
    truncatedAlerts: 0,
    status: notice.status,
    receiver: options.receiver,
    groupLabels,
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: options.externalUrl,
    alerts: [alert],
  };
}

/** Prometheus label names are [a-zA-Z_][a-zA-Z0-9_]*; template names usually are, anything else is mapped. */
function labelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}
