// The status page's content as JSON for scripts and other tools: GET /api/v1/alerts (alerts firing now and the
// last alert episodes) and GET /api/v1/streams (each stream's state and, while it fills, its window fill).
// Times are RFC 3339 strings like the alert payloads'; names follow the webhook body's (startsAt, top_channels).
import type { ChannelShare } from '../core/alert';
import type { AlertEpisode } from '../core/alertHistory';
import type { AlertFeedback, StreamPrecision } from '../core/feedback';
import type { AlertView, StatusSnapshot, StreamView } from './status';

export interface AlertsJson {
  readonly firing: readonly FiringJson[];
  /** Firing alerts beyond the page's cap (counted, not listed). */
  readonly firing_not_listed: number;
  /** Newest first, at most the history's size (100). */
  readonly episodes: readonly EpisodeJson[];
}

export interface FiringJson {
  readonly fingerprint: string;
  readonly stream: string;
  readonly model: string;
  readonly kind: string;
  readonly severity: string;
  readonly startsAt: string;
  readonly score: number | null;
  readonly threshold: number;
  readonly p_value: number | null;
  readonly top_channels: readonly ChannelShare[];
  /** The maintenance window holding the alert from the pagers, if one does. */
  readonly maintenance?: string;
}

export interface EpisodeJson {
  readonly fingerprint: string;
  readonly stream: string;
  readonly model: string;
  readonly alertname: string;
  readonly kind: string;
  readonly severity: string;
  readonly startsAt: string;
  /** null while firing. */
  readonly endsAt: string | null;
  readonly peak_score: number | null;
  readonly threshold: number | null;
  readonly top_channels: readonly ChannelShare[];
  readonly resolve_reason?: string;
  /** The operator's label of the episode, if it has one. */
  readonly feedback?: { readonly label: string; readonly note: string; readonly who: string };
}

export interface StreamsJson {
  readonly streams: readonly StreamJson[];
  /** More streams than the page keeps (limits in the status model): the rest are only in /metrics. */
  readonly capped: boolean;
}

export interface StreamJson {
  readonly stream: string;
  readonly model: string;
  readonly state: string;
  readonly score: number | null;
  readonly threshold: number | null;
  /** The stream's labelled alert episodes of the last 30 days; absent when none is labelled. */
  readonly precision_30d?: { readonly true_positives: number; readonly false_positives: number; readonly precision: number };
  /** The operating mode (null while not known yet); present only for a stream with `modes`. */
  readonly mode?: string | null;
  /** Present (true) while the stream's Sparkplug B edge node or device is dead: nothing is scored or paged. */
  readonly offline?: true;
  /** Present while its data is refused: its Sparkplug birth gives these channels, not the ones its model learnt. */
  readonly channels_changed?: readonly string[];
  /** Present while the window is filling or the model is not ready. */
  readonly window?: {
    readonly samples: number;
    readonly size: number;
    /** Estimated time of the next scored window; null when unknown. */
    readonly next_window_at: string | null;
    readonly last_sample_at: string | null;
    readonly model_ready: boolean;
  };
}

/** An out-of-range time (a sender's clock gone wrong) is written as "" rather than failing the request. */
function time(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}
/** JSON has no NaN or Infinity: such a value is written as null rather than breaking the document. */
const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

export function alertsJson(s: StatusSnapshot): AlertsJson {
  return { firing: s.alerts.map(firingJson), firing_not_listed: s.alertsNotShown, episodes: s.episodes.map((e) => episodeJson(e, s.feedback.labelOf(e.fingerprint, e.startsAt))) };
}

export function streamsJson(s: StatusSnapshot): StreamsJson {
  return { streams: s.streams.map((v) => streamJson(v, s.feedback.precision.get(v.stream))), capped: s.streamsCapped };
}

function firingJson(a: AlertView): FiringJson {
  const scored = a.kind === 'anomaly';
  return {
    fingerprint: a.fingerprint, stream: a.stream, model: a.model, kind: a.kind, severity: a.severity, startsAt: time(a.since),
    score: scored ? finite(a.score) : null, threshold: a.threshold, p_value: scored ? finite(a.pValue) : null, top_channels: a.topChannels,
    ...(a.maintenance !== undefined ? { maintenance: a.maintenance } : {}),
  };
}

function episodeJson(e: AlertEpisode, f: AlertFeedback | undefined): EpisodeJson {
  return {
    fingerprint: e.fingerprint, stream: e.stream, model: e.model, alertname: e.alertname, kind: e.kind, severity: e.severity,
    startsAt: time(e.startsAt), endsAt: e.endsAt === null ? null : time(e.endsAt), peak_score: finite(e.peakScore),
    threshold: finite(e.threshold), top_channels: e.topChannels,
    ...(e.resolveReason !== undefined ? { resolve_reason: e.resolveReason } : {}),
    ...(f !== undefined ? { feedback: { label: f.label, note: f.note, who: f.who } } : {}),
  };
}

function streamJson(v: StreamView, p: StreamPrecision | undefined): StreamJson {
  const base = {
    stream: v.stream, model: v.model, state: v.state, score: finite(v.score), threshold: finite(v.threshold),
    ...(v.mode !== undefined ? { mode: v.mode } : {}),
    ...(v.offline ? { offline: true as const } : {}),
    ...(v.channelsChanged ? { channels_changed: v.channelsChanged } : {}),
    ...(p !== undefined && p.precision !== null ? { precision_30d: { true_positives: p.truePositives, false_positives: p.falsePositives, precision: p.precision } } : {}),
  };
  if (v.fill === null) return base;
  const f = v.fill;
  return {
    ...base,
    window: {
      samples: f.buffered, size: f.size, next_window_at: f.nextWindowAt === null ? null : time(f.nextWindowAt),
      last_sample_at: f.lastSampleAt === null ? null : time(f.lastSampleAt), model_ready: f.modelReady,
    },
  };
}
