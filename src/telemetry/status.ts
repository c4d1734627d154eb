// The little state the status page shows (what Prometheus cannot: recent score history per stream, how full a
// new stream's first window is, the alerts firing right now with their top channels, the last alert episodes,
// why messages were rejected). Fed by the internal events, plus the pipeline's window fill read on request;
// every collection is capped so a plant with ten thousand streams cannot grow it without bound.
import type { AlertNotice, AlertSeverity, ChannelShare } from '../core/alert';
import type { Clock } from '../core/clock';
import type { RejectReason } from '../core/context';
import { AlertHistory, DEFAULT_MAX_EPISODES, type AlertEpisode } from '../core/alertHistory';
import type { AlertFeedback, StreamPrecision } from '../core/feedback';
import { RateWindow } from './rateWindow';
import type { StreamFill } from '../core/streamFill';

export interface StatusOptions {
  /** Streams shown with history; later streams are only counted (default 500). */
  readonly maxStreams?: number;
  /** Recent scores kept per stream for the sparkline (default 60). */
  readonly pointsPerStream?: number;
  /** Active alerts kept (default 5000; one per stream and kind, so bounded by the stream limit anyway). */
  readonly maxAlerts?: number;
  /** Alert episodes kept in the history (default 100). */
  readonly maxEpisodes?: number;
}

/** filling: samples arrive but no window has been scored yet (the first window is not complete, or no model yet). */
export type StreamState = 'normal' | 'anomalous' | 'insufficient_data' | 'filling';

/** A stream's window buffer as the pipeline reports it on request (Pipeline.streamFill). */
export type StreamFillSource = StreamFill;

/** How far a stream is from being scored; on the page while its window is not full or its model not ready. */
export interface WindowFillView {
  /** Time steps in the window so far (samples, plus steps filled in for short gaps). */
  readonly buffered: number;
  readonly size: number;
  /** Estimated wall-clock time of the next window (ms): last sample + steps to go x sample period; null when unknown. */
  readonly nextWindowAt: number | null;
  /** Wall-clock time of the last message (ms); null when none came since start. */
  readonly lastSampleAt: number | null;
  /** False while the stream's model is not loaded or still being learned. */
  readonly modelReady: boolean;
}

export interface StreamView {
  readonly stream: string;
  readonly model: string;
  /** null until the first scored window. */
  readonly score: number | null;
  readonly threshold: number | null;
  readonly state: StreamState;
  /** Completeness of the latest insufficient window, else null. */
  readonly completeness: number | null;
  readonly updatedAt: number;
  /** Oldest first. */
  readonly history: readonly number[];
  /** Set while the window is filling or the model is not ready (see WindowFillView); null once it is scored as usual. */
  readonly fill: WindowFillView | null;
  /** The operating mode; absent for a stream without `modes`, null while its mode is not known yet. */
  readonly mode?: string | null;
  /** Present while its Sparkplug B edge node or device is dead (not born again). */
  readonly offline?: true;
  /** Present while its data is refused: its Sparkplug birth gives these channels, not the ones its model learnt. */
  readonly channelsChanged?: readonly string[];
}

export interface AlertView {
  readonly fingerprint: string;
  readonly stream: string;
  readonly model: string;
  readonly kind: AlertNotice['kind'];
  readonly severity: AlertSeverity;
  readonly since: number;
  readonly score: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly topChannels: readonly ChannelShare[];
  /** The maintenance window holding it from the pagers, if one does. */
  readonly maintenance?: string;
}

/** A maintenance window open now, as the page lists it. */
export interface MaintenanceView {
  readonly id: string;
  readonly reason: string;
  /** Its stream globs and labels, in words ("line1/*; line=line1"). */
  readonly scope: string;
  readonly start: number;
  readonly end: number;
  readonly origin: 'config' | 'api';
}

/** Operator labels of alert episodes, as the page shows them (app/feedback.ts provides them). */
export interface FeedbackView {
  /** An episode's label, if it has one. */
  labelOf(fingerprint: string, startsAt: number): AlertFeedback | undefined;
  /** Each stream's labelled episodes of the last 30 days; a stream without any is absent. */
  readonly precision: ReadonlyMap<string, StreamPrecision>;
}

const NO_FEEDBACK: FeedbackView = { labelOf: () => undefined, precision: new Map() };

export interface RejectionView {
  readonly reason: RejectReason;
  readonly count: number;
  readonly lastTopic: string;
  readonly lastDetail: string;
  readonly lastAt: number;
}

export interface ModelView {
  readonly model: string;
  readonly state: 'loaded' | 'failed';
  readonly version: string;
  readonly backend: string;
  readonly dir: string;
  readonly detail: string;
  readonly at: number;
}

/** A sink as the status page shows it: what it holds, and its connection where it keeps one (mqtt_out). */
export interface SinkView {
  readonly name: string;
  readonly buffered: number;
  readonly connected?: boolean;
}

export interface StatusSnapshot {
  readonly now: number;
  readonly startedAt: number;
  readonly mqtt: { readonly connected: boolean; readonly detail: string; readonly since: number | null };
  /** Inputs beside MQTT (OPC UA), by name. */
  readonly sources: readonly SourceView[];
  readonly messagesTotal: number;
  readonly messagesPerSecond: number;
  readonly streams: readonly StreamView[];
  /** True once maxStreams was reached: further streams are not on the page (they are in the metrics). */
  readonly streamsCapped: boolean;
  readonly alerts: readonly AlertView[];
  readonly alertsNotShown: number;
  readonly rejections: readonly RejectionView[];
  readonly models: readonly ModelView[];
  /** The last alert episodes, newest first (resolved ones included). */
  readonly episodes: readonly AlertEpisode[];
  /** Maintenance windows open now. */
  readonly maintenance: readonly MaintenanceView[];
  readonly feedback: FeedbackView;
  /** The running sinks (absent where none was provided, e.g. offline). */
  readonly sinks?: readonly SinkView[];
}

/** The health of an input beside MQTT. */
export interface SourceView {
  readonly name: string;
  readonly connected: boolean;
  readonly detail: string;
  readonly since: number;
}

/** Counts since start, read at each readiness probe (the 'ingest' check). */
export interface IngestCounters {
  /** MQTT messages received (rejected ones included). */
  readonly received: number;
  /** Samples the pipeline took, plus messages handed to another replica's shard: input that is not failing. */
  readonly accepted: number;
  readonly rejected: ReadonlyMap<RejectReason, number>;
}

export interface IngestionSummary {
  readonly messagesTotal: number;
  readonly messagesPerSecond: number;
  readonly rejectedTotal: number;
  readonly mqttConnected: boolean;
}

interface StreamEntry {
  model: string;
  score: number | null;
  threshold: number | null;
  state: StreamState;
  completeness: number | null;
  updatedAt: number;
  history: Float64Array;
  /** Points written so far; the ring's next slot is written % capacity. */
  written: number;
}

/** Topics and details come from the network: kept short so one odd message cannot bloat the page. */
const MAX_TEXT = 200;
const clip = (s: string): string => (s.length > MAX_TEXT ? s.slice(0, MAX_TEXT - 1) + '…' : s);

export class StatusModel {
  readonly startedAt: number;
  private readonly maxStreams: number;
  private readonly points: number;
  private readonly maxAlerts: number;
  private readonly streams = new Map<string, StreamEntry>();
  private streamsCapped = false;
  private readonly alerts = new Map<string, AlertView>();
  private alertsNotShown = 0;
  private readonly rejections = new Map<RejectReason, RejectionView>();
  private readonly models = new Map<string, ModelView>();
  private readonly rate = new RateWindow(60);
  private messagesTotal = 0;
  /** Samples the pipeline took plus messages of other shards (the readiness's "ingesting" check). */
  private acceptedTotal = 0;
  private fillSource: () => readonly StreamFillSource[] = () => [];
  private maintenanceSource: () => readonly MaintenanceView[] = () => [];
  private sinksSource: () => readonly SinkView[] = () => [];
  private feedbackSource: (now: number) => FeedbackView = () => NO_FEEDBACK;
  /** The alert episodes; the daemon loads and saves it (state/alertHistoryFile.ts). */
  readonly history: AlertHistory;
  private mqtt: { connected: boolean; detail: string; since: number | null } = { connected: false, detail: 'not connected yet', since: null };
  private readonly sources = new Map<string, SourceView>();

  constructor(private readonly clock: Clock, opts: StatusOptions = {}) {
    this.startedAt = clock.now();
    this.maxStreams = opts.maxStreams ?? 500;
    this.points = Math.max(2, opts.pointsPerStream ?? 60);
    this.maxAlerts = opts.maxAlerts ?? 5000;
    this.history = new AlertHistory(opts.maxEpisodes ?? DEFAULT_MAX_EPISODES);
  }

  /** Where snapshot() reads each stream's window fill (the pipeline's streams, from their first message). */
  provideStreamFill(source: () => readonly StreamFillSource[]): void {
    this.fillSource = source;
  }

  /** Where snapshot() reads the maintenance windows open now. */
  /** Where snapshot() reads the running sinks (the daemon's, which a reload may replace). */
  provideSinks(source: () => readonly SinkView[]): void {
    this.sinksSource = source;
  }

  provideMaintenance(source: () => readonly MaintenanceView[]): void {
    this.maintenanceSource = source;
  }

  /** Where snapshot() reads the operators' labels and each stream's precision. */
  provideFeedback(source: (now: number) => FeedbackView): void {
    this.feedbackSource = source;
  }

  uptimeMs(): number {
    return this.clock.now() - this.startedAt;
  }

  recordMessage(at = this.clock.now()): void {
    this.messagesTotal++;
    this.rate.add(at, 1);
  }

  /** Input that did not fail: samples the pipeline took, or messages acknowledged for another replica's shard. */
  recordAccepted(count: number): void {
    this.acceptedTotal += count;
  }

  /** Received, accepted and rejected (by reason) counts since start, for the readiness's ingest check. */
  ingestCounters(): IngestCounters {
    return { received: this.messagesTotal, accepted: this.acceptedTotal, rejected: new Map([...this.rejections].map(([reason, r]) => [reason, r.count])) };
  }

  recordScore(stream: string, model: string, score: number, threshold: number, anomalous: boolean): void {
    // First: an episode's peak counts for streams beyond the page's cap too.
    this.history.observeScore(stream, score, threshold);
    const e = this.entry(stream, model);
    if (!e) return;
    e.score = score;
    e.threshold = threshold;
    e.state = anomalous ? 'anomalous' : 'normal';
    e.completeness = null;
    e.history[e.written % this.points] = score;
    e.written++;
  }

  recordInsufficient(stream: string, completeness: number): void {
    const e = this.entry(stream, null);
    if (!e) return;
    e.state = 'insufficient_data';
    e.completeness = completeness;
  }

  recordAlert(n: AlertNotice): void {
    this.history.record(n);
    if (n.status === 'resolved') {
      if (!this.alerts.delete(n.fingerprint) && this.alertsNotShown > 0) this.alertsNotShown--;
      return;
    }
    const known = this.alerts.has(n.fingerprint);
    if (!known && this.alerts.size >= this.maxAlerts) {
      this.alertsNotShown++;
      return;
    }
    this.alerts.set(n.fingerprint, {
      fingerprint: n.fingerprint, stream: n.stream, model: n.model, kind: n.kind, severity: n.severity,
      since: n.startsAt, score: n.score, threshold: n.threshold, pValue: n.pValue,
      topChannels: n.topChannels.slice(0, 5),
      ...(n.maintenance !== undefined ? { maintenance: n.maintenance } : {}),
    });
  }

  /** Alerts firing now (those over the cap included). */
  firingCount(): number {
    return this.alerts.size + this.alertsNotShown;
  }

  recordRejection(reason: RejectReason, topic: string, detail: string): void {
    const prev = this.rejections.get(reason);
    this.rejections.set(reason, {
      reason, count: (prev?.count ?? 0) + 1, lastTopic: clip(topic), lastDetail: clip(detail), lastAt: this.clock.now(),
    });
  }

  setMqtt(connected: boolean, detail: string): void {
    const changed = connected !== this.mqtt.connected || this.mqtt.since === null;
    this.mqtt = { connected, detail: clip(detail), since: changed ? this.clock.now() : this.mqtt.since };
  }

  /** The input is no longer configured (a reload removed it): its row goes. */
  dropSource(name: string): void {
    this.sources.delete(name);
  }

  setSource(name: string, connected: boolean, detail: string): void {
    const prev = this.sources.get(name);
    const since = prev && prev.connected === connected ? prev.since : this.clock.now();
    this.sources.set(name, { name, connected, detail: clip(detail), since });
  }

  mqttState(): StatusSnapshot['mqtt'] {
    return { ...this.mqtt };
  }

  recordModel(model: string, version: string, backend: string, dir: string): void {
    this.models.set(model, { model, state: 'loaded', version, backend, dir, detail: '', at: this.clock.now() });
  }

  recordModelFailure(model: string, dir: string, detail: string): void {
    const prev = this.models.get(model);
    // A failed reload leaves the loaded version serving: still loaded (and ready), with the failure noted.
    if (prev?.state === 'loaded') {
      this.models.set(model, { ...prev, detail: clip(`last reload failed: ${detail}`), at: this.clock.now() });
      return;
    }
    this.models.set(model, { model, state: 'failed', version: '', backend: '', dir, detail: clip(detail), at: this.clock.now() });
  }

  /** A loaded model whose windows could not be scored: it stays loaded, the failure is its detail. */
  recordScoringFailure(model: string, detail: string): void {
    const prev = this.models.get(model);
    if (prev) this.models.set(model, { ...prev, detail: clip(`scoring failed: ${detail}`), at: this.clock.now() });
  }

  modelViews(): readonly ModelView[] {
    return [...this.models.values()];
  }

  /** Ingestion since start and over the last minute, without the per-stream views (the periodic health point). */
  ingestion(): IngestionSummary {
    let rejectedTotal = 0;
    for (const r of this.rejections.values()) rejectedTotal += r.count;
    return {
      messagesTotal: this.messagesTotal,
      messagesPerSecond: this.rate.perSecond(this.clock.now(), this.startedAt),
      rejectedTotal,
      mqttConnected: this.mqtt.connected,
    };
  }

  snapshot(): StatusSnapshot {
    const now = this.clock.now();
    return {
      now,
      startedAt: this.startedAt,
      mqtt: { ...this.mqtt },
      sources: [...this.sources.values()],
      messagesTotal: this.messagesTotal,
      messagesPerSecond: this.rate.perSecond(now, this.startedAt),
      ...this.streamViews(),
      alerts: [...this.alerts.values()].sort((a, b) => a.since - b.since),
      alertsNotShown: this.alertsNotShown,
      rejections: [...this.rejections.values()].sort((a, b) => b.count - a.count),
      models: this.modelViews(),
      episodes: this.history.list(),
      maintenance: this.maintenanceSource(),
      feedback: this.feedbackSource(now),
      sinks: this.sinksSource(),
    };
  }

  /**
   * The streams scored so far, each with its fill when it is not scored as usual, then the streams that have
   * sent samples but no window yet, up to the cap.
   */
  private streamViews(): { streams: StreamView[]; streamsCapped: boolean } {
    const fills = new Map<string, StreamFillSource>();
    for (const f of this.fillSource()) fills.set(f.stream, f);
    const streams: StreamView[] = [];
    for (const [stream, e] of this.streams) {
      const f = fills.get(stream);
      streams.push({
        stream, model: e.model, score: e.score, threshold: e.threshold, state: e.state,
        completeness: e.completeness, updatedAt: e.updatedAt, history: this.scoreHistory(e),
        fill: f && (f.buffered < f.size || !f.modelReady) ? fillView(f) : null,
        ...(f?.mode !== undefined ? { mode: f.mode } : {}),
        ...(f?.offline ? { offline: true as const } : {}),
        ...(f?.channelsChanged ? { channelsChanged: f.channelsChanged } : {}),
      });
    }
    let capped = this.streamsCapped;
    for (const [stream, f] of fills) {
      if (this.streams.has(stream)) continue;
      if (streams.length >= this.maxStreams) {
        capped = true;
        break;
      }
      streams.push({
        stream, model: f.model, score: null, threshold: null, state: 'filling', completeness: null,
        updatedAt: f.lastSampleAt, history: [], fill: fillView(f),
        ...(f.mode !== undefined ? { mode: f.mode } : {}),
        ...(f.offline ? { offline: true as const } : {}),
        ...(f.channelsChanged ? { channelsChanged: f.channelsChanged } : {}),
      });
    }
    return { streams, streamsCapped: capped };
  }

  /** A stream the configuration no longer has (removed by a reload): its row and score history go. */
  forgetStream(stream: string): void {
    this.streams.delete(stream);
  }

  private entry(stream: string, model: string | null): StreamEntry | undefined {
    let e = this.streams.get(stream);
    if (!e) {
      if (this.streams.size >= this.maxStreams) {
        this.streamsCapped = true;
        return undefined;
      }
      e = {
        model: model ?? '', score: null, threshold: null, state: 'normal', completeness: null, updatedAt: 0,
        history: new Float64Array(this.points), written: 0,
      };
      this.streams.set(stream, e);
    }
    if (model !== null) e.model = model;
    e.updatedAt = this.clock.now();
    return e;
  }

  private scoreHistory(e: StreamEntry): number[] {
    const n = Math.min(e.written, this.points);
    const out: number[] = [];
    for (let i = e.written - n; i < e.written; i++) out.push(e.history[i % this.points]);
    return out;
  }
}

function fillView(f: StreamFillSource): WindowFillView {
  const seen = f.lastSampleAt > 0;
  return {
    buffered: f.buffered,
    size: f.size,
    nextWindowAt: seen && f.samplePeriodMs !== null ? f.lastSampleAt + f.stepsUntilWindow * f.samplePeriodMs : null,
    lastSampleAt: seen ? f.lastSampleAt : null,
    modelReady: f.modelReady,
  };
}
