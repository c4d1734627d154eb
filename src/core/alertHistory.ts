// The last alert episodes (start, end, severity, peak score, top channels), newest first, for the status page
// and GET /api/v1/alerts: what fired overnight is still there in the morning after the alert resolved. Bounded
// (default 100 episodes) and fed by the alert notices and scored windows the status model already sees; the
// daemon saves it in state_dir (state/alertHistoryFile.ts), so a restart keeps it.
import { alertName, type AlertKind, type AlertNotice, type AlertSeverity, type ChannelShare } from './alert';

export interface AlertEpisode {
  readonly fingerprint: string;
  readonly stream: string;
  readonly model: string;
  readonly kind: AlertKind;
  /** The alertname label the notices carried (AnomalyDetected, IngestionStalled, ...). */
  readonly alertname: string;
  /** The highest severity the episode reached. */
  readonly severity: AlertSeverity;
  /** Window time the alert started firing (ms). */
  readonly startsAt: number;
  /** When it resolved (ms); null while firing. */
  readonly endsAt: number | null;
  /** Highest window score during the episode; null for alerts that are not about scores (stalls, sensors). */
  readonly peakScore: number | null;
  /** The threshold in force at the peak; null with peakScore. */
  readonly threshold: number | null;
  /** Top channels of the notice with the highest score (for sensor alerts: the channels at fault). */
  readonly topChannels: readonly ChannelShare[];
  /** Why it resolved without the condition clearing (the stream is no longer checked); absent otherwise. */
  readonly resolveReason?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Kinds whose notices carry a window score worth calling a peak. */
const SCORED: ReadonlySet<AlertKind> = new Set<AlertKind>(['anomaly']);
const KINDS: ReadonlySet<string> = new Set<AlertKind>(['anomaly', 'insufficient_data', 'ingestion_stalled', 'sensor_flatline', 'sensor_spikes', 'timestamps_rejected', 'streams_refused', 'streams_stalled']);
const MAX_TOP_CHANNELS = 5;
const MAX_TEXT = 200;

export const DEFAULT_MAX_EPISODES = 100;

export class AlertHistory {
  /** Oldest first; at most `max`. */
  private readonly episodes: Mutable<AlertEpisode>[] = [];
  /** Episodes still firing, by fingerprint. */
  private readonly open = new Map<string, Mutable<AlertEpisode>>();
  /** Firing anomaly episodes by stream: where a scored window may raise a peak. */
  private readonly openScored = new Map<string, Mutable<AlertEpisode>>();
  private changeCount = 0;

  constructor(readonly max = DEFAULT_MAX_EPISODES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the alert history needs room for at least one episode (got ${max})`);
  }

  /** Increases with every change: a saver writes when it differs from what it wrote last. */
  get changes(): number {
    return this.changeCount;
  }

  record(n: AlertNotice): void {
    const known = this.open.get(n.fingerprint);
    if (n.status === 'resolved') {
      // An episode the history lost (its saved file was damaged) is still listed when it resolves, with what
      // the resolve says; its peak is unknown.
      const episode = known ?? this.add(n);
      episode.endsAt = n.endsAt ?? n.startsAt;
      if (n.reason !== undefined) episode.resolveReason = n.reason.slice(0, MAX_TEXT);
      if (episode.topChannels.length === 0 && !SCORED.has(n.kind)) episode.topChannels = copyChannels(n.topChannels);
      this.close(episode);
      this.changeCount++;
      return;
    }
    if (known && known.startsAt !== n.startsAt) {
      // A new episode of the same alert without a resolve in between (not expected): the old one ended when
      // the new one started, rather than staying "firing" for ever.
      known.endsAt = n.startsAt;
      this.close(known);
    }
    const episode = known && known.startsAt === n.startsAt ? known : this.add(n);
    if (severityRank(n.severity) > severityRank(episode.severity)) episode.severity = n.severity;
    if (SCORED.has(n.kind) && Number.isFinite(n.score) && (episode.peakScore === null || n.score > episode.peakScore)) {
      episode.peakScore = n.score;
      episode.threshold = n.threshold;
      if (n.topChannels.length > 0) episode.topChannels = copyChannels(n.topChannels);
    } else if (episode.topChannels.length === 0) {
      episode.topChannels = copyChannels(n.topChannels);
    }
    this.changeCount++;
  }

  /** A scored window of `stream`: raises the peak of its firing anomaly episode. Cheap when nothing fires. */
  observeScore(stream: string, score: number, threshold: number): void {
    if (this.openScored.size === 0) return;
    const episode = this.openScored.get(stream);
    if (!episode || !(score > (episode.peakScore ?? Number.NEGATIVE_INFINITY))) return;
    episode.peakScore = score;
    episode.threshold = threshold;
    this.changeCount++;
  }

  /** Newest first (copies). */
  list(): AlertEpisode[] {
    const out: AlertEpisode[] = [];
    for (let i = this.episodes.length - 1; i >= 0; i--) out.push({ ...this.episodes[i], topChannels: [...this.episodes[i].topChannels] });
    return out;
  }

  /** Replaces the content with saved episodes (oldest first), keeping the newest `max`. */
  load(saved: readonly AlertEpisode[]): void {
    this.episodes.length = 0;
    this.open.clear();
    this.openScored.clear();
    for (const e of saved.slice(-this.max)) {
      const episode: Mutable<AlertEpisode> = { ...e, topChannels: copyChannels(e.topChannels) };
      this.episodes.push(episode);
      if (episode.endsAt === null) this.opened(episode);
    }
    this.changeCount++;
  }

  /** The saved form: oldest first, so a load restores the same order. */
  toJSON(): { format: number; episodes: AlertEpisode[] } {
    return { format: HISTORY_FORMAT, episodes: this.list().reverse() };
  }

  private add(n: AlertNotice): Mutable<AlertEpisode> {
    const episode: Mutable<AlertEpisode> = {
      fingerprint: n.fingerprint, stream: n.stream, model: n.model, kind: n.kind, alertname: alertName(n.kind),
      severity: n.severity, startsAt: n.startsAt, endsAt: null, peakScore: null, threshold: null, topChannels: [],
    };
    this.episodes.push(episode);
    if (this.episodes.length > this.max) {
      const dropped = this.episodes.shift();
      // Over 100 alerts firing at once: the oldest leaves the history (it is still on the active list).
      if (dropped && dropped.endsAt === null) this.close(dropped);
    }
    this.opened(episode);
    return episode;
  }

  private opened(episode: Mutable<AlertEpisode>): void {
    this.open.set(episode.fingerprint, episode);
    if (SCORED.has(episode.kind)) this.openScored.set(episode.stream, episode);
  }

  private close(episode: Mutable<AlertEpisode>): void {
    if (this.open.get(episode.fingerprint) === episode) this.open.delete(episode.fingerprint);
    if (this.openScored.get(episode.stream) === episode) this.openScored.delete(episode.stream);
  }
}

export const HISTORY_FORMAT = 1;

/**
 * Episodes from a saved history (parsed JSON of any shape): the well-formed ones, oldest first, and how many
 * were not. Throws only when the whole is not a history at all.
 */
export function parseHistory(value: unknown): { episodes: AlertEpisode[]; skipped: number } {
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== HISTORY_FORMAT) {
    throw new Error(`not an alert history of format ${HISTORY_FORMAT}`);
  }
  const list = (value as { episodes?: unknown }).episodes;
  if (!Array.isArray(list)) throw new Error('episodes: must be a list');
  const episodes: AlertEpisode[] = [];
  let skipped = 0;
  for (const item of list) {
    const e = episodeOf(item);
    if (e) episodes.push(e);
    else skipped++;
  }
  return { episodes, skipped };
}

function episodeOf(v: unknown): AlertEpisode | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const str = (k: string): string | null => {
    const x = o[k];
    return typeof x === 'string' ? x.slice(0, MAX_TEXT) : null;
  };
  const time = (k: string): number | null => {
    const x = o[k];
    return typeof x === 'number' && Number.isFinite(x) ? x : null;
  };
  const [fingerprint, stream, model, kind, alertname, severity] = ['fingerprint', 'stream', 'model', 'kind', 'alertname', 'severity'].map(str);
  const startsAt = time('startsAt');
  if (fingerprint === null || stream === null || model === null || kind === null || !KINDS.has(kind) || alertname === null || startsAt === null) return null;
  if (severity !== 'warning' && severity !== 'critical') return null;
  if (o['endsAt'] !== null && time('endsAt') === null) return null;
  const peak = o['peakScore'] === null ? null : time('peakScore');
  if (peak === null && o['peakScore'] !== null) return null;
  const channels = Array.isArray(o['topChannels']) ? o['topChannels'] : null;
  if (channels === null) return null;
  const topChannels: ChannelShare[] = [];
  for (const c of channels.slice(0, MAX_TOP_CHANNELS)) {
    const ch = c as Record<string, unknown> | null;
    if (typeof ch?.['channel'] !== 'string' || typeof ch['share'] !== 'number') return null;
    topChannels.push({ channel: ch['channel'].slice(0, MAX_TEXT), share: ch['share'] });
  }
  const reason = str('resolveReason');
  return {
    fingerprint, stream, model, kind: kind as AlertKind, alertname, severity, startsAt, endsAt: time('endsAt'),
    peakScore: peak, threshold: peak === null ? null : time('threshold'), topChannels,
    ...(reason !== null ? { resolveReason: reason } : {}),
  };
}

function severityRank(s: AlertSeverity): number {
  return s === 'critical' ? 1 : 0;
}

function copyChannels(shares: readonly ChannelShare[]): ChannelShare[] {
  return shares.slice(0, MAX_TOP_CHANNELS).map((c) => ({ channel: c.channel, share: c.share }));
}
