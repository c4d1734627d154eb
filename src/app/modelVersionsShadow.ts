// Shadow scoring: every window the live model of a model name scored is also handed to that name's shadow
// version, in a lane of its own (pipeline/modelLane.ts, the live lanes' micro-batching) whose queue drops and
// counts when full, so the shadow never holds up ingestion or the live lane. Its scores go to the sinks as
// `anomaly_shadow_score` points tagged with its version; a per-stream copy of the alert state machine, with the
// stream's own alerting settings, decides what it WOULD have fired. Those would-be episodes are counted, kept for
// the judge (modelVersionsJudge.ts) and GET /api/v1/models, and written as `anomaly_shadow_alert` points; they
// are never notices, so no sink's writeAlert ever sees one and nothing pages.
//
// The counts start with the shadow; the store saves them (stats()) every minute and at a clean stop, and a
// restarted shadow continues from them (set(..., restore)), so the judge's period runs on across restarts.
import type { DetectionConfig } from '../config/schema';
import type { AlertNotice } from '../core/alert';
import { AlertStateMachine } from '../core/alerting';
import type { Log } from '../core/context';
import type { StreamScoreFilter } from '../core/scoreFilter';
import type { ScoredWindow, ScoringModel } from '../core/scoringModel';
import type { EventPoint, Sink } from '../core/sink';
import type { Window } from '../core/types';
import type { ShadowStats } from '../state/modelVersionsFile';
import { ModelLane, type LaneOptions } from '../pipeline/modelLane';
import { alertOptions, newScoreFilter } from './detection';
import type { EpisodeSpan, ShadowRecord } from './modelVersionsJudge';

/** The counters the shadow lanes feed (anomalyd_shadow_*_total{model}). */
export interface ShadowCounters {
  scored(model: string, windows: number): void;
  dropped(model: string, windows: number): void;
  wouldFire(model: string): void;
}

export interface ShadowScoringOptions {
  readonly log: Log;
  readonly lane: Omit<LaneOptions, 'whenFull'>;
  /** The sinks in force (a reload may replace them). */
  readonly sinks: () => readonly Sink[];
  /** The stream's effective detection settings (its alerting and calibration); undefined: not bound. */
  readonly detectionOf: (stream: string) => DetectionConfig | undefined;
  readonly counters: ShadowCounters;
  readonly now: () => number;
}

/** Would-be episodes kept per shadow for the judge; the oldest go first. */
const MAX_EPISODES = 10_000;
/** Would-be episodes saved with the index (the newest). */
const SAVED_EPISODES = 1_000;

interface ShadowStream {
  readonly machine: AlertStateMachine;
  readonly filter: StreamScoreFilter | undefined;
}

interface Shadow {
  readonly version: string;
  readonly lane: ModelLane;
  /** The version scored (a SPOT filter starts from its calibration). */
  readonly detector: ScoringModel;
  readonly since: number;
  readonly streams: Map<string, ShadowStream>;
  readonly episodes: EpisodeSpan[];
  /** Open would-be episodes by stream (index into episodes is unstable once trimmed: kept by object). */
  readonly open: Map<string, { stream: string; start: number; end: number | null }>;
  /** Live episodes counted (fingerprint@start), so an escalation is not a second one. */
  readonly liveSeen: Set<string>;
  windows: number;
  dropped: number;
  liveEpisodes: number;
}

export class ShadowScoring {
  private readonly shadows = new Map<string, Shadow>();
  /** Would-be notices need sequence numbers; they are never sent, so they do not take the daemon's. */
  private sequence = 0;

  constructor(private readonly o: ShadowScoringOptions) {}

  /**
   * Starts (or with null stops) the shadow of `model`. Its counts start afresh at `since`, or continue from
   * `restore` (counts of the same version saved before a restart; an episode open then is closed there).
   */
  set(model: string, version: string | null, detector: ScoringModel | null, since = this.o.now(), restore?: ShadowStats): void {
    this.shadows.get(model)?.lane.stop();
    this.shadows.delete(model);
    if (version === null || detector === null) return;
    const lane = new ModelLane(
      model,
      detector,
      { ...this.o.lane, whenFull: 'drop' },
      (m, windows, scored) => this.scored(m, windows, scored),
      (m, windows, kind, detail) => this.failed(m, version, windows.length, kind, detail),
    );
    const saved = restore?.version === version ? restore : undefined;
    this.shadows.set(model, {
      version, lane, detector, since: saved?.since ?? since, streams: new Map(), open: new Map(), liveSeen: new Set(),
      episodes: saved ? saved.episodes.map((e) => ({ stream: e.stream, start: e.start, end: e.end ?? saved.at })) : [],
      windows: saved?.windows ?? 0, dropped: saved?.dropped ?? 0, liveEpisodes: saved?.liveEpisodes ?? 0,
    });
  }

  /**
   * The live version changed while the shadow runs: what it counted was against the old live version, so its
   * counts start again now.
   */
  restartCounts(model: string): void {
    const s = this.shadows.get(model);
    if (!s) return;
    this.shadows.set(model, { ...s, since: this.o.now(), episodes: [], open: new Map(), liveSeen: new Set(), windows: 0, dropped: 0, liveEpisodes: 0 });
  }

  /** The counts to save (at most the newest SAVED_EPISODES episodes); undefined without a shadow. */
  stats(model: string): ShadowStats | undefined {
    const s = this.shadows.get(model);
    if (!s) return undefined;
    return {
      version: s.version, since: s.since, windows: s.windows, dropped: s.dropped, liveEpisodes: s.liveEpisodes,
      episodes: s.episodes.slice(-SAVED_EPISODES).map((e) => ({ ...e })), at: this.o.now(),
    };
  }

  /** The version in shadow for `model`, if any. */
  versionOf(model: string): string | undefined {
    return this.shadows.get(model)?.version;
  }

  /** The pipeline's hook: windows the live model of `model` scored. */
  offer(model: string, windows: readonly Window[]): void {
    const shadow = this.shadows.get(model);
    if (!shadow) return;
    let dropped = 0;
    for (let i = 0; i < windows.length; i++) if (shadow.lane.push(windows[i]) === false) dropped++;
    if (dropped > 0) {
      shadow.dropped += dropped;
      this.o.counters.dropped(model, dropped);
    }
  }

  /** A live notice (before the maintenance gate): the live model's anomaly episodes are the judge's yardstick. */
  observeLive(notice: AlertNotice): void {
    if (notice.kind !== 'anomaly' || notice.status !== 'firing') return;
    const shadow = this.shadows.get(notice.model);
    if (!shadow || notice.startsAt < shadow.since) return;
    // A severity escalation is a second firing notice of the same episode.
    const key = `${notice.fingerprint}@${notice.startsAt}`;
    if (shadow.liveSeen.has(key)) return;
    if (shadow.liveSeen.size >= MAX_EPISODES) shadow.liveSeen.clear();
    shadow.liveSeen.add(key);
    shadow.liveEpisodes++;
  }

  /** What the shadow of `model` counted, for the judge and the API; undefined without a shadow. */
  record(model: string): (ShadowRecord & { readonly dropped: number; readonly openEpisodes: number }) | undefined {
    const s = this.shadows.get(model);
    if (!s) return undefined;
    return {
      model, version: s.version, since: s.since, windows: s.windows, streams: new Set(s.streams.keys()),
      episodes: s.episodes.map((e) => ({ ...e })), liveEpisodes: s.liveEpisodes, dropped: s.dropped, openEpisodes: s.open.size,
    };
  }

  queueDepths(): { queue: string; depth: number }[] {
    return [...this.shadows.entries()].map(([model, s]) => ({ queue: `shadow:${model}`, depth: s.lane.queue.length }));
  }

  /** Scores what is queued (shutdown) and stops every lane. */
  stop(): void {
    for (const s of this.shadows.values()) {
      s.lane.drain();
      s.lane.stop();
    }
  }

  /** A shadow whose every batch fails says so once a minute, not once a batch (anomalyd_scoring_failures_total is the live models'). */
  private failed(model: string, version: string, windows: number, kind: string, detail: string): void {
    const now = this.o.now();
    const last = this.lastFailureLog.get(model);
    if (last !== undefined && now - last < 60_000) return;
    this.lastFailureLog.set(model, now);
    this.o.log.warn('The shadow version could not score windows; they are dropped.', { model, version, windows, failure: kind, detail });
  }

  private readonly lastFailureLog = new Map<string, number>();

  private scored(model: string, windows: readonly Window[], scored: readonly ScoredWindow[]): void {
    const shadow = this.shadows.get(model);
    if (!shadow) return;
    shadow.windows += scored.length;
    this.o.counters.scored(model, scored.length);
    const sinks = this.o.sinks();
    for (let i = 0; i < scored.length; i++) {
      const s = scored[i];
      const stream = this.streamOf(shadow, model, s.stream);
      if (!stream) continue;
      const f = stream.filter?.filter({
        time: s.end, score: s.score, threshold: s.threshold, pValue: s.pValue, anomalous: s.anomalous,
        window: { values: windows[i].values, channels: windows[i].channels },
      }) ?? s;
      const point: EventPoint = {
        kind: 'shadow_score',
        time: s.end,
        tags: { stream: s.stream, model, model_version: shadow.version },
        fields: { score: f.score, threshold: f.threshold, p_value: f.pValue, anomalous: f.anomalous },
      };
      for (const sink of sinks) sink.writeEvent?.(point);
      const notices = stream.machine.observe({ time: s.end, score: f.score, threshold: f.threshold, pValue: f.pValue, anomalous: f.anomalous, channelShares: [] });
      for (const n of notices) this.wouldBe(shadow, model, n, sinks);
    }
  }

  private wouldBe(shadow: Shadow, model: string, n: AlertNotice, sinks: readonly Sink[]): void {
    if (n.kind !== 'anomaly') return;
    const open = shadow.open.get(n.stream);
    if (n.status === 'firing' && !open) {
      const episode = { stream: n.stream, start: n.startsAt, end: null };
      shadow.open.set(n.stream, episode);
      shadow.episodes.push(episode);
      if (shadow.episodes.length > MAX_EPISODES) shadow.episodes.shift();
      this.o.counters.wouldFire(model);
    } else if (n.status === 'resolved' && open) {
      open.end = n.endsAt ?? n.startsAt;
      shadow.open.delete(n.stream);
    } else {
      return;
    }
    const point: EventPoint = {
      kind: 'shadow_alert',
      time: n.status === 'resolved' && n.endsAt !== null ? n.endsAt : n.startsAt,
      tags: { stream: n.stream, model, model_version: shadow.version },
      fields: { state: n.status, score: n.score, severity: n.severity },
    };
    for (const sink of sinks) sink.writeEvent?.(point);
  }

  private streamOf(shadow: Shadow, model: string, id: string): ShadowStream | undefined {
    const known = shadow.streams.get(id);
    if (known) return known;
    const detection = this.o.detectionOf(id);
    if (!detection) return undefined;
    const machine = new AlertStateMachine(alertOptions(detection.alerting, { stream: id, model, labels: {}, nextSequence: () => ++this.sequence }));
    const stream = { machine, filter: newScoreFilter(detection.calibration, () => shadow.detector.manifest.calibration) };
    shadow.streams.set(id, stream);
    return stream;
  }
}
