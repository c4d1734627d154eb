// The pipeline: samples from any source -> per-stream sliding windows -> per-model micro-batched scoring ->
// per-stream alert state -> sinks. One instance serves the daemon (fed by MQTT) and offline replay (fed from
// files with a fake clock), so both produce the same windows, scores and alerts.
import type { AlertNotice, ChannelReading, ChannelShare } from '../core/alert';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { StreamScoreFilter } from '../core/scoreFilter';
import { ReorderBuffer, type ReorderDrop } from '../core/reorder';
import type { StallDetector } from '../core/stall';
import type { SensorCheck } from '../core/sensorCheck';
import type { ScoredWindow, ScoringModel } from '../core/scoringModel';
import type { EventPoint, ScorePoint, Sink } from '../core/sink';
import type { StreamSamples } from '../core/source';
import type { StreamCheckpoint, StreamSnapshot } from '../core/streamCheckpoint';
import type { Sample, StreamSpec, Window } from '../core/types';
import { WindowBuffer, type WindowOptions } from '../core/window';
import type { WhenFull } from './boundedQueue';
import { ScoredObservation, shareRecord } from './channelShares';
import { denoisedSamples, expectedFields, writesExpected, type ExpectedOutput } from './expectedValues';
import { ModelLane } from './modelLane';
import type { StreamFill } from '../core/streamFill';
import type { EvictReason, RejectReason } from '../core/context';
import type { RefusalAlert } from '../core/refusalAlert';
import type { FreshStall, StallSummary } from '../core/stallSummary';
import { StreamModeState, type ModeBinding } from './streamModes';
import { rhythmInCharge } from './streamRhythm';

export type { ModeBinding } from './streamModes';

/** The alert state machine of one stream, as the pipeline drives it. */
export interface AlertTracker {
  observe(w: {
    time: number; score: number; threshold: number; pValue: number; anomalous: boolean; channelShares: readonly ChannelShare[];
    readingOf?(index: number): ChannelReading | undefined;
  }): readonly AlertNotice[];
  observeInsufficient(w: { time: number; completeness: number }): readonly AlertNotice[];
}

/** How a stream is processed: resolved once, on its first message, by the composition root. */
export interface StreamBinding {
  readonly spec: StreamSpec;
  readonly model: string;
  readonly window: WindowOptions;
  /** Reorder tolerance (ms); 0 = none. */
  readonly maxLatenessMs?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly alerts: AlertTracker;
  /**
   * Per-stream post-processing of the model's window scores (e.g. the anomaly likelihood over the stream's
   * recent scores); stateful, so it lives with the stream, not with the model that streams share. Absent: the
   * detector's own score and decision go to the sinks and the alert tracker unchanged.
   */
  readonly scoreFilter?: StreamScoreFilter;
  /** Ingestion-stall alerts (wall clock); absent: none. */
  readonly stall?: StallDetector;
  /** Per-channel sensor checks (flatline, spikes) on every sample in time order; absent: none. */
  readonly sensors?: SensorCheck;
  /** Operating modes (the stream's `modes`); absent: one mode, the stream's model and score filter. */
  readonly modes?: ModeBinding;
  /** What the stream writes of the model's expectation beside its scores; absent: nothing (no reconstruction is kept). */
  readonly expected?: ExpectedOutput;
  /** The stream went offline (setOnline): resolves what it has firing, with `reason`. Absent: nothing to resolve. */
  readonly wentOffline?: (now: number, reason: string) => readonly AlertNotice[];
  /** Why the stream was offline when the previous run stopped (a Sparkplug death with no birth since); absent: it was not. */
  readonly savedOffline?: string;
  /** The stream went offline (`reason`) or came back (null): kept by the binder, so it outlives a restart. */
  readonly livenessChanged?: (offline: string | null) => void;
}

export type { StreamFill } from '../core/streamFill';

/** Takes windows of streams whose model is not available yet (auto-learning). */
export interface WindowLearner {
  /** `model`: the model to learn (a mode's own, `auto:<stream>@<mode>`); absent: the binding's. */
  offer(binding: StreamBinding, window: Window, model?: string, filter?: StreamScoreFilter): void;
}

export interface PipelineOptions {
  readonly queueCapacity: number;
  readonly whenFull: WhenFull;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxStreams: number;
  /** A stream that completed windows is evicted after this long without a window (ms); 0 = never. */
  readonly idleEvictMs?: number;
  /** A stream that never completed a window: evicted after this long without a window or a sample (ms); 0 = never. */
  readonly newIdleEvictMs?: number;
}

/** Why a new stream is not admitted (its subscription's allow_streams or new_streams_per_minute). */
export interface Refusal {
  readonly reason: RejectReason;
  readonly detail: string;
}

/**
 * The admission of new streams, asked on a stream's first message: `allowed` before the stream limit (a stream
 * that would never be admitted is counted as such, not as stream_limit), `rate` after it (only a stream that
 * would be tracked takes a token).
 */
export interface Admission {
  allowed(batch: StreamSamples): Refusal | null;
  rate(batch: StreamSamples, now: number): Refusal | null;
}

export interface PipelineDeps {
  readonly ctx: ComponentContext;
  readonly options: PipelineOptions;
  /** Binding for a new stream, or a reason it is refused (unknown stream, bad config). */
  readonly bind: (batch: StreamSamples) => StreamBinding | { readonly refused: string };
  readonly detectorFor: (model: string) => ScoringModel | undefined;
  readonly learner?: WindowLearner;
  readonly sinks: readonly Sink[];
  /** Absent: every stream the subscriptions produce is admitted (up to maxStreams). */
  readonly admission?: Admission;
  /** The one alert that summarises refused new streams; absent: refusals are only counted. */
  readonly refusals?: RefusalAlert;
  /** Many streams stalling at once page as one summary; absent: each stall pages. */
  readonly stallSummary?: StallSummary;
  /** Alerts taken up again without a transition (the stall summary after a restart): re-asserted to Alertmanager. */
  readonly reassert?: (notices: readonly AlertNotice[]) => void;
  /**
   * Every notice passes here before it is recorded and sent: a maintenance window marks the ones it holds
   * (recorded, paged by no one). Absent: notices go on as they are.
   */
  readonly gate?: (notice: AlertNotice) => AlertNotice;
  /**
   * Whether the stream's windows may be learned from now (auto-learning's collection, the score filter's
   * history and seen range); false while a maintenance window covers it. Absent: always.
   */
  readonly learning?: (stream: string, labels: Readonly<Record<string, string>>) => boolean;
  /**
   * Each scored window with the detector's own p-value (before the score filter) and whether it may be learned
   * from (the `learning` answer): retraining records it and judges drift on it. Absent: nothing is told.
   */
  readonly scored?: (binding: StreamBinding, window: Window, pValue: number, learn: boolean) => void;
  /**
   * An idle stream is about to be evicted: forget its state (alert state, saved state) and return true, or
   * return false to keep it (an alert of it is firing). Absent: evicted.
   */
  readonly evict?: (stream: string, reason: EvictReason) => boolean;
  /**
   * A stream with no model yet starts afresh on new channels (learntChannels): resolve what it has firing and
   * forget what was learnt and saved of it, so the next bind starts clean. Absent: nothing to forget.
   */
  readonly relearn?: (stream: string) => void;
  /** The version of the model that scores now, written with each score (tag model_version). Absent: none. */
  readonly versionOf?: (model: string) => string;
  /** Windows the model's live version scored, handed on to its shadow version's lane, if any. */
  readonly shadow?: (model: string, windows: readonly Window[]) => void;
}

/** An insufficient window waiting for the stream's windows queued before it to be scored. */
interface HeldInsufficient {
  /** Released once this many of the stream's queued windows are done (scored, or failed to score). */
  readonly upTo: number;
  readonly time: number;
  readonly completeness: number;
}

interface StreamState {
  readonly binding: StreamBinding;
  readonly reorder: ReorderBuffer;
  readonly buffer: WindowBuffer;
  lastSampleAt: number;
  /** When its latest window (complete or insufficient) ended up, by the arrival clock; its bind time before any. */
  lastWindowAt: number;
  /** Window events so far (complete or insufficient): deliver() notes the time when this grows. */
  windows: number;
  /**
   * It completed a window (now or before a restart): only such a stream is checkpointed, and its stall alert
   * pages. A made-up topic that sent a message or two never is.
   */
  windowed: boolean;
  /**
   * Windows of the stream handed to a model lane, and how many of them are done: the alert state machine must
   * see a stream's windows in time order, but complete windows wait in the lane for their batch while an
   * insufficient one is known at once. An insufficient window is held until the windows before it are done (live,
   * whether they were was a matter of batch timing; replay, which scores per chunk, saw it every time).
   */
  queued: number;
  done: number;
  held: HeldInsufficient[] | null;
  /** The stream's operating mode; null for a stream without `modes` (the ingest path then checks one field). */
  mode: StreamModeState | null;
  /** Time of the last sample of its denoised signal written (each sample is written once). */
  denoisedUntil: number;
  /** Its Sparkplug B edge node or device died (setOnline): nothing is windowed, scored or paged, no stall alarm. */
  offline: boolean;
  /** Channels learnt from births (batch.channels): the last list found equal to the bound one (checked by reference first). */
  channelsSeen: readonly string[] | null;
  /** The other channels a birth gave while a model had learnt the bound ones: its data is refused. */
  channelsChanged: readonly string[] | null;
}

function newStreamState(binding: StreamBinding, lastSampleAt: number, previous?: StreamState): StreamState {
  return {
    binding,
    reorder: new ReorderBuffer(binding.maxLatenessMs ?? 0),
    buffer: new WindowBuffer(binding.spec, binding.window),
    lastSampleAt,
    lastWindowAt: previous?.lastWindowAt ?? lastSampleAt,
    windows: previous?.windows ?? 0,
    windowed: previous?.windowed ?? binding.stall?.healthy ?? false,
    // Windows queued under the previous binding are still scored for this stream.
    queued: previous?.queued ?? 0,
    done: previous?.done ?? 0,
    held: previous?.held ?? null,
    mode: modeStateFor(binding, previous),
    denoisedUntil: previous?.denoisedUntil ?? Number.NEGATIVE_INFINITY,
    offline: previous?.offline ?? false,
    channelsSeen: previous?.channelsSeen ?? null,
    channelsChanged: previous?.channelsChanged ?? null,
  };
}

/** The mode state of a stream bound by `binding`, in the mode it was in (a reload) or was saved in (a restart). */
function modeStateFor(binding: StreamBinding, previous: StreamState | undefined): StreamModeState | null {
  return binding.modes ? new StreamModeState(binding.modes, binding.model, binding.scoreFilter, previous?.mode?.current ?? binding.modes.initial) : null;
}

export class Pipeline {
  private readonly streams = new Map<string, StreamState>();
  private readonly lanes = new Map<string, ModelLane>();
  private stopped = false;
  /** Saved stream state waiting for its stream's first message (restoreStreams). */
  private restoring = new Map<string, StreamSnapshot>();
  /** Modes that came (mode topic) for streams not bound yet: applied when they bind. Bounded by maxStreams. */
  private readonly pendingModes = new Map<string, { readonly mode: string; readonly time: number }>();
  /** The deps' sinks until a config reload replaces them (replaceSinks). */
  private sinks: readonly Sink[];
  /** Told of data refused because its stream is offline (onOfflineData). */
  private offlineData: ((batch: StreamSamples) => void) | null = null;

  constructor(private readonly deps: PipelineDeps) {
    this.sinks = deps.sinks;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  queueDepths(): { queue: string; depth: number }[] {
    return [...this.lanes.values()].map((l) => ({ queue: `windows:${l.model}`, depth: l.queue.length + l.queue.blocked }));
  }

  queueDrops(): { queue: string; dropped: number }[] {
    return [...this.lanes.values()].map((l) => ({ queue: `windows:${l.model}`, dropped: l.queue.dropped }));
  }

  /**
   * Each stream's window fill, for the status page: computed on request from what the window buffers keep
   * anyway, so the ingest path pays nothing for it.
   */
  streamFill(): StreamFill[] {
    const out: StreamFill[] = [];
    for (const s of this.streams.values()) {
      const { buffer, binding } = s;
      const buffered = buffer.buffered;
      const estimated = buffered >= 2 ? buffer.bufferedSpanMs / (buffered - 1) : undefined;
      out.push({
        stream: binding.spec.id,
        model: binding.model,
        lastSampleAt: s.lastSampleAt,
        buffered,
        size: binding.window.size,
        stepsUntilWindow: buffer.stepsUntilWindow,
        samplePeriodMs: binding.window.samplePeriodMs ?? (estimated !== undefined && estimated > 0 ? estimated : null),
        modelReady: this.lanes.has(s.mode?.model ?? binding.model) || this.deps.detectorFor(s.mode?.model ?? binding.model) !== undefined,
        ...(s.mode ? { mode: s.mode.current } : {}),
        ...(s.offline ? { offline: true as const } : {}),
        ...(s.channelsChanged ? { channelsChanged: s.channelsChanged } : {}),
      });
    }
    return out;
  }

  /** The source's deliver function: resolves once every window of the batch is queued (backpressure). */
  deliver = (batch: StreamSamples): void | Promise<void> => {
    if (this.stopped) return;
    const { ctx } = this.deps;
    let state = this.streams.get(batch.stream);
    if (!state) {
      const admission = this.deps.admission;
      const refusal =
        admission?.allowed(batch) ??
        (this.streams.size >= this.deps.options.maxStreams ? { reason: 'stream_limit' as const, detail: `stream limit of ${this.deps.options.maxStreams} reached` } : null) ??
        admission?.rate(batch, batch.receivedAt ?? ctx.clock.now()) ??
        null;
      if (refusal) {
        this.refuse(batch, refusal);
        return;
      }
      const binding = this.deps.bind(batch);
      if ('refused' in binding) {
        ctx.events.messageRejected('unknown_stream', batch.stream, binding.refused);
        return;
      }
      state = newStreamState(binding, 0);
      this.followRhythm(state);
      state.lastWindowAt = batch.receivedAt ?? ctx.clock.now();
      state.channelsSeen = batch.channels ?? null;
      // Offline before the restart but not adopted as such (adopt): its source delivered this, so it lives.
      if (binding.savedOffline !== undefined) binding.livenessChanged?.(null);
      this.streams.set(batch.stream, state);
      if (this.restoring.size > 0) this.restore(state, batch.stream);
      if (this.pendingModes.size > 0) this.applyPendingMode(state, batch.stream);
    }
    if (batch.channels !== undefined && batch.channels !== state.channelsSeen) {
      const checked = this.learntChannels(state, batch, batch.channels);
      if (checked === null) return;
      state = checked;
    }
    if (batch.timeRejected) {
      state.binding.stall?.timeRejected(batch.timeRejected);
      return;
    }
    if (state.offline) {
      // The source refuses data of a dead edge node itself; this catches what was already on its way (the journal),
      // and data of a stream offline since before a restart, whose edge node the source has no record of.
      ctx.events.messageRejected('not_born', batch.stream, 'the stream is offline (its Sparkplug edge node or device died) until it is born again');
      this.offlineData?.(batch);
      return;
    }
    // This runs for every message: no allocation unless a window is due or the queue pushes back.
    let pending: Promise<void>[] | undefined;
    const windowsBefore = state.windows;
    const { reorder } = state;
    // Indexed loops here and below: a for-of iterator per message and per sample showed in the allocation profile.
    const { samples } = batch;
    for (let i = 0; i < samples.length; i++) {
      const sample = samples[i];
      if (reorder.immediate) {
        const dropped = reorder.admit(sample.ts);
        if (dropped === undefined) pending = this.window(state, sample, pending);
        else this.rejectSample(batch.stream, sample, dropped);
        continue;
      }
      const { ready, dropped } = reorder.push(sample);
      if (dropped) this.rejectSample(batch.stream, sample, dropped);
      for (const s of ready) pending = this.window(state, s, pending);
    }
    const now = batch.receivedAt ?? ctx.clock.now();
    state.lastSampleAt = now;
    if (state.windows !== windowsBefore) state.lastWindowAt = now;
    if (state.binding.stall) this.emit(state.binding.stall.activity(now, samples.length));
    ctx.events.samplesAccepted(batch.stream, batch.samples.length);
    if (pending === undefined) return;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  };

  /** A new stream's message refused for admission: acknowledged by the caller, counted, and summarised in one alert. */
  private refuse(batch: StreamSamples, refusal: Refusal): void {
    const { ctx } = this.deps;
    ctx.events.messageRejected(refusal.reason, batch.stream, refusal.detail);
    if (this.deps.refusals) this.emit(this.deps.refusals.refused(batch.receivedAt ?? ctx.clock.now(), batch.stream, refusal.reason));
  }

  private rejectSample(stream: string, sample: Sample, dropped: ReorderDrop): void {
    const why = dropped === 'duplicate' ? 'a sample with this time was already taken' : 'older than the allowed lateness';
    this.deps.ctx.events.messageRejected(dropped === 'duplicate' ? 'duplicate' : 'out_of_order', stream, `sample at ${sample.ts}: ${why}`);
  }

  /** Feeds one sample to the stream's window buffer; returns `pending` with the promises of windows that wait for queue space. */
  private window(state: StreamState, sample: Sample, pending: Promise<void>[] | undefined): Promise<void>[] | undefined {
    const { ctx } = this.deps;
    const mode = state.mode;
    if (mode !== null) {
      const classify = mode.binding.classify;
      if (classify) {
        const changed = mode.observe(classify(sample.values));
        if (changed !== null) this.changeMode(state, changed, sample.ts);
      }
      // A stopped machine: nothing windowed, scored, learned or checked.
      if (mode.off) return pending;
    }
    const before = state.buffer.outOfOrder;
    const events = state.buffer.push(sample);
    // Only samples the window took: a redelivered duplicate must not look like a repeated (stuck) value.
    if (state.binding.sensors && state.buffer.outOfOrder === before) this.emit(state.binding.sensors.observe(sample.ts, sample.values));
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      state.windows++;
      if (event.kind === 'insufficient') {
        ctx.events.windowInsufficient(event.window.stream, event.window.completeness);
        this.observeInsufficient(state, event.window.end, event.window.completeness);
      } else {
        if (!state.windowed) {
          state.windowed = true;
          state.binding.stall?.windowCompleted();
        }
        const queued = this.route(state, event.window);
        if (queued instanceof Promise) (pending ??= []).push(queued);
      }
    }
    if (state.buffer.outOfOrder > before) {
      ctx.events.messageRejected('out_of_order', state.binding.spec.id, `sample at ${sample.ts} is not after the previous one`);
    }
    return pending;
  }

  /**
   * Release every sample held for reordering and score every queued window now (shutdown, end of a replay).
   * With the block policy a full queue cannot wait here, so its overflow is scored in extra batches.
   */
  drain(): void {
    for (const state of this.streams.values()) {
      // Windows that find a full queue wait as its blocked producers; lane.drain() below admits them.
      for (const s of state.reorder.flush()) void this.window(state, s, undefined);
    }
    for (const lane of this.lanes.values()) lane.drain();
  }

  /**
   * A consistent cut for the state checkpoint: scores every queued window now (so no accepted sample is
   * between a window buffer and the alert state), then hands each stream's window buffer and held samples to
   * `visit`, one stream at a time. The window buffers are views, not copies, valid only during the call: encode
   * them there (see StreamsEncoder). Nothing is collected first: views of every stream kept alive together got
   * promoted to the old generation by the collections during the cut.
   */
  checkpoint(visit: (stream: string, checkpoint: StreamCheckpoint) => void): void {
    for (const lane of this.lanes.values()) lane.drain();
    // A stream that never completed a window is not saved: a made-up topic must not come back after a restart.
    // What a real new stream loses is less than one window of samples, the samples before its first window.
    for (const [id, state] of this.streams) if (state.windowed) visit(id, { window: state.buffer.view(), held: state.reorder.pending });
  }

  /** Each bound stream's score filter, for the state checkpoint (state/filterCheckpoint.ts); call in the checkpoint's cut. */
  scoreFilters(visit: (stream: string, filter: StreamScoreFilter) => void): void {
    for (const [id, state] of this.streams) {
      if (state.binding.scoreFilter) visit(id, state.binding.scoreFilter);
      // Each mode's own filter, under `<stream>@<mode>` (restored by that key when the mode's filter is made).
      if (state.binding.modes) for (const [mode, filter] of state.binding.modes.filters()) visit(modeFilterKey(id, mode), filter);
    }
  }

  /**
   * A mode message for `stream` (its mode topic): counts toward the stream's hysteresis and, when the mode
   * changes, applies at `time`. A stream not bound yet takes it when it binds.
   */
  setMode(stream: string, mode: string, time: number): void {
    if (this.stopped) return;
    const state = this.streams.get(stream);
    if (!state) {
      if (this.pendingModes.size < this.deps.options.maxStreams || this.pendingModes.has(stream)) this.pendingModes.set(stream, { mode, time });
      return;
    }
    if (!state.mode || state.mode.binding.source !== 'topic') return;
    const changed = state.mode.observe(mode);
    if (changed !== null) this.changeMode(state, changed, time);
  }

  /**
   * A stream's Sparkplug B edge node or device died (`online` false) or was born again. Going offline scores the
   * windows already queued, resolves what the stream has firing (with `reason`), and drops the partial window, so
   * nothing is scored, paged or stall-alarmed while it is dead; coming back restarts the stall clock, and the
   * window buffer starts afresh (no window spans the outage). A stream not bound yet has nothing to change: the
   * source refuses its data until it is born.
   */
  setOnline(stream: string, online: boolean, time: number, reason: string): void {
    if (this.stopped) return;
    const state = this.streams.get(stream);
    if (!state || state.offline === !online) return;
    state.offline = !online;
    state.buffer.reset();
    state.binding.livenessChanged?.(online ? null : reason);
    if (online) state.binding.stall?.restartClock(this.deps.ctx.clock.now());
    else {
      if (state.queued > state.done) this.lanes.get(state.mode?.model ?? state.binding.model)?.drain();
      this.emit(state.binding.wentOffline?.(time, `${reason}: its open alerts are closed, and nothing is scored or paged until it is born again.`) ?? []);
    }
    this.deps.ctx.events.streamLiveness(stream, online, reason);
  }

  /**
   * A stream whose channels are learnt from its Sparkplug births, and a batch whose birth gave `channels`. The set
   * it is bound to goes on. Another set starts a stream that has no model yet afresh (learning begins again on the
   * new set, as for a new stream), and is refused while a model learnt the old one: a model must not score other
   * channels than it learnt. Refused batches are counted (channels_changed), the change logged once, and the stream
   * marked until a birth gives its channels again. Returns the state to deliver to, or null when refused.
   */
  private learntChannels(state: StreamState, batch: StreamSamples, channels: readonly string[]): StreamState | null {
    const { ctx } = this.deps;
    const bound = state.binding.spec.channels;
    if (bound.length === channels.length && bound.every((c, i) => c === channels[i])) {
      state.channelsSeen = channels;
      if (state.channelsChanged !== null) {
        state.channelsChanged = null;
        ctx.log.info("Taking the stream's data again: its Sparkplug birth gives the channels its model learnt.", { stream: batch.stream });
      }
      return state;
    }
    const model = state.mode?.model ?? state.binding.model;
    const learnt = this.lanes.has(model) || this.deps.detectorFor(model) !== undefined;
    if (!learnt && state.queued <= state.done) {
      this.deps.relearn?.(batch.stream);
      this.streams.delete(batch.stream);
      const binding = this.deps.bind(batch);
      if ('refused' in binding) {
        ctx.events.messageRejected('unknown_stream', batch.stream, binding.refused);
        return null;
      }
      const fresh = newStreamState(binding, 0);
      fresh.lastWindowAt = batch.receivedAt ?? ctx.clock.now();
      fresh.channelsSeen = channels;
      this.streams.set(batch.stream, fresh);
      ctx.log.info('Stream learns again on the channels of its new Sparkplug birth (it had no model yet).', { stream: batch.stream, was: bound.join(','), now: channels.join(',') });
      return fresh;
    }
    if (state.channelsChanged !== channels) {
      state.channelsChanged = channels;
      ctx.log.warn("Refusing the stream's data: its Sparkplug birth gives other channels than its model learnt.", { stream: batch.stream, model, learnt: bound.join(','), birth: channels.join(',') });
    }
    ctx.events.messageRejected('channels_changed', batch.stream, `its Sparkplug birth gives channels ${channels.join(', ')}; its model '${model}' learnt ${bound.join(', ')}`);
    return null;
  }

  /** Data refused because its stream is offline goes to `hook` too (the source asks the edge node for a rebirth). */
  onOfflineData(hook: (batch: StreamSamples) => void): void {
    this.offlineData = hook;
  }

  /** Streams offline now (setOnline), for the anomalyd_streams_offline gauge. */
  offlineCount(): number {
    let n = 0;
    for (const state of this.streams.values()) if (state.offline) n++;
    return n;
  }

  /** Each stream with modes and the mode it is in (null: not known yet), for the mode gauge. */
  streamModes(): { stream: string; mode: string | null }[] {
    const out: { stream: string; mode: string | null }[] = [];
    for (const [stream, state] of this.streams) if (state.mode) out.push({ stream, mode: state.mode.current });
    return out;
  }

  private applyPendingMode(state: StreamState, stream: string): void {
    const pending = this.pendingModes.get(stream);
    if (!pending) return;
    this.pendingModes.delete(stream);
    if (!state.mode || state.mode.binding.source !== 'topic') return;
    const changed = state.mode.observe(pending.mode);
    if (changed !== null) this.changeMode(state, changed, pending.time);
  }

  /**
   * The stream's mode is now `next`: windows queued under the old mode are scored first (by its model and filter),
   * the window buffer restarts so no window mixes two modes, and going `off` resolves what is firing (the machine
   * stopped) while leaving it restarts the stall clock. Written to the sinks (anomaly_mode) and counted.
   */
  private changeMode(state: StreamState, next: string, time: number): void {
    const mode = state.mode;
    if (!mode) return;
    const previous = mode.previousOf(next);
    if (state.queued > state.done) this.lanes.get(mode.model)?.drain();
    const wasOff = mode.off;
    mode.enter(next);
    state.buffer.reset();
    // The new mode's model may join another rhythm, or none.
    this.followRhythm(state);
    const { binding } = state;
    const stream = binding.spec.id;
    if (mode.off && !wasOff) this.emit(binding.modes?.stopped(time) ?? []);
    else if (wasOff && !mode.off) binding.stall?.restartClock(this.deps.ctx.clock.now());
    binding.modes?.changed(next);
    this.deps.ctx.events.modeChanged(stream, next, previous, time);
    const fields: Record<string, string> = previous === null ? { mode: next } : { mode: next, previous };
    const point: EventPoint = { kind: 'mode', time, tags: { stream }, fields };
    for (const sink of this.sinks) sink.writeEvent?.(point);
  }

  /**
   * Snapshots from the previous run's checkpoint: each stream continues from its own when it is bound again (on
   * its first message), if its window geometry is unchanged.
   */
  restoreStreams(snapshots: ReadonlyMap<string, StreamSnapshot>): void {
    this.restoring = new Map(snapshots);
  }

  /** Stop taking input and score what is queued; sinks are stopped by their owner. */
  stop(): void {
    if (this.stopped) return;
    this.drain();
    this.stopped = true;
    // The summary of refused streams is not saved: resolved here, raised again by refusals after the restart.
    // Held stalls page now: their streams' alerts are saved as firing and would otherwise never be sent.
    if (this.deps.stallSummary) this.emit(this.deps.stallSummary.flush());
    if (this.deps.refusals) this.emit(this.deps.refusals.retire(this.deps.ctx.clock.now(), 'anomalyd stopped; refusals after its restart raise this alert again.'));
    for (const lane of this.lanes.values()) lane.stop();
  }

  /** Fire ingestion-stall alerts for streams silent longer than their configured silence (called periodically). */
  checkStalls(now: number): void {
    const summary = this.deps.stallSummary;
    const fresh: FreshStall[] = [];
    let summarised = 0;
    let earliest: number | null = null;
    for (const state of this.streams.values()) {
      const stall = state.binding.stall;
      // A stopped machine's gateway may stop sending: that is not a stall (the clock restarts when it runs again).
      // Nor is the silence of a stream whose Sparkplug edge node announced its death.
      if (!stall || state.mode?.off === true || state.offline) continue;
      if (!summary) {
        this.emit(stall.check(now));
        continue;
      }
      const since = stall.summarisedSince;
      if (since !== null) {
        summarised++;
        earliest = earliest === null ? since : Math.min(earliest, since);
      }
      for (const notice of stall.check(now)) {
        // A stream whose clock is wrong is its own problem, not part of a site going dark.
        if (notice.kind === 'ingestion_stalled') fresh.push({ notice, summarise: (by) => stall.summarise(by) });
        else this.emit([notice]);
      }
    }
    if (summary) {
      const { notices, adopted } = summary.tick(now, fresh, summarised, earliest);
      if (adopted) this.deps.reassert?.([adopted]);
      this.emit(notices);
    }
    if (this.deps.refusals) this.emit(this.deps.refusals.check(now));
  }

  /**
   * Forgets the streams idle past their limit (options idleEvictMs, newIdleEvictMs), freeing their place under
   * maxStreams: a stream that completed windows after idleEvictMs without one, a stream that never did after
   * newIdleEvictMs without a window or a sample. A stream with windows still being scored waits for them, and
   * one the evict hook keeps (an alert firing) stays. Returns how many were evicted.
   */
  evictIdle(now: number): number {
    const { idleEvictMs = 0, newIdleEvictMs = 0 } = this.deps.options;
    let evicted = 0;
    for (const [id, state] of this.streams) {
      const limit = state.windowed ? idleEvictMs : newIdleEvictMs;
      if (limit <= 0 || state.queued > state.done) continue;
      const since = state.windowed ? state.lastWindowAt : Math.max(state.lastWindowAt, state.lastSampleAt);
      if (now - since <= limit) continue;
      const reason: EvictReason = state.windowed ? 'idle' : 'never_windowed';
      if (this.deps.evict && !this.deps.evict(id, reason)) continue;
      this.streams.delete(id);
      this.restoring.delete(id);
      evicted++;
      this.deps.ctx.events.streamEvicted(id, reason, now - since);
    }
    return evicted;
  }

  /** A model became available or was reloaded: later windows of its streams are scored by it. */
  modelReady(model: string, detector: ScoringModel): void {
    const lane = this.lanes.get(model);
    if (lane) lane.replaceDetector(detector);
    // Its rhythm may not be the one the windows of its streams were tracked with (another version, a learned model).
    for (const state of this.streams.values()) if ((state.mode?.model ?? state.binding.model) === model) this.followRhythm(state);
  }

  /**
   * The stream's window buffer tracks the rhythm of the model in charge of its windows (streamRhythm.ts): the same
   * settings keep the tracker and its history, others start a fresh one on the buffered samples, so no window is
   * scored with the prematurity of another model's tracker.
   */
  private followRhythm(state: StreamState): void {
    const { binding, buffer } = state;
    const model = state.mode?.model ?? binding.model;
    try {
      if (buffer.setRhythm(rhythmInCharge(this.deps.detectorFor(model), binding.window, binding.spec.channels))) {
        this.deps.ctx.log.debug("The stream's rhythm tracker starts afresh with the settings of the model in charge.", { stream: binding.spec.id, model });
      }
    } catch (err) {
      // Its channels were checked against the stream's, so this is a model that slipped through: it scores without
      // the rhythm's factor (prematurity absent) rather than with another tracker's.
      buffer.setRhythm(undefined);
      this.deps.ctx.log.warn("Tracking no rhythm for the stream: the rhythm of the model in charge does not fit the stream's channels.", { stream: binding.spec.id, model, error: errorMessage(err) });
    }
  }

  /**
   * Config reload: each stream gets the binding `next` returns for it, or is forgotten when it returns null
   * (no longer configured). A stream whose channels, window geometry and lateness are unchanged keeps its window
   * buffer and held samples, so its windows go on without a gap; any other starts a new buffer. Either way the
   * buffer then tracks the rhythm of the model in charge: changed rhythm settings start only the tracker afresh.
   */
  rebind(next: (old: StreamBinding) => StreamBinding | null): { kept: number; restarted: number; removed: number } {
    const counts = { kept: 0, restarted: 0, removed: 0 };
    for (const [id, state] of this.streams) {
      const binding = next(state.binding);
      if (binding === null) {
        this.streams.delete(id);
        counts.removed++;
      } else if (sameGeometry(state.binding, binding)) {
        // Its modes as the new config says (conditions, models, filters), in the mode it is in.
        const kept: StreamState = { ...state, binding, mode: modeStateFor(binding, state) };
        this.followRhythm(kept);
        this.streams.set(id, kept);
        counts.kept++;
      } else {
        const restarted = newStreamState(binding, state.lastSampleAt, state);
        this.followRhythm(restarted);
        this.streams.set(id, restarted);
        counts.restarted++;
      }
    }
    return counts;
  }

  /**
   * Binds a stream known from the state file before its first message after a restart, so its stall alert is
   * checked even if it never sends again (a gateway that died while the daemon was down). No activity is
   * recorded: a stall alert restored as firing stays firing until samples come.
   */
  adopt(batch: StreamSamples): void {
    if (this.stopped || this.streams.has(batch.stream) || this.streams.size >= this.deps.options.maxStreams) return;
    const binding = this.deps.bind(batch);
    if ('refused' in binding) return;
    const state = newStreamState(binding, 0);
    this.followRhythm(state);
    // Idle from now, not from 1970: an adopted stream that never sends again is evicted after its idle time.
    state.lastWindowAt = this.deps.ctx.clock.now();
    // A Sparkplug edge node or device that died before the restart stays offline until it is born again: no stall
    // alarm for its silence, no scoring of data it sends without a birth. Only here: a stream bound by a message
    // after the restart was not dead for the source that delivered it.
    if (binding.savedOffline !== undefined) {
      state.offline = true;
      // Not a change (anomalyd_stream_liveness_changes_total counted it when it died): said once, at start.
      this.deps.ctx.log.info('Stream is still offline from before the restart: nothing is scored or paged, and no stall alarm, until it is born again.', { stream: batch.stream, reason: binding.savedOffline });
    }
    this.streams.set(batch.stream, state);
    if (this.restoring.size > 0) this.restore(state, batch.stream);
  }

  /** Notices raised outside the sample flow (a config reload resolving the alerts of a removed stream). */
  notify(notices: readonly AlertNotice[]): void {
    this.emit(notices);
  }

  /** Config reload: later scores, alerts and health points go to these sinks. */
  replaceSinks(sinks: readonly Sink[]): void {
    this.sinks = sinks;
  }

  private restore(state: StreamState, stream: string): void {
    const snapshot = this.restoring.get(stream);
    if (!snapshot) return;
    this.restoring.delete(stream);
    try {
      state.buffer.restore(snapshot.window);
    } catch (err) {
      this.deps.ctx.log.warn('Starting a new window for the stream: its saved window does not fit its settings.', { stream, error: errorMessage(err) });
      return;
    }
    // Only a stream that completed a window was checkpointed.
    state.windowed = true;
    // Normally held again; released at once only if the lateness was lowered since.
    for (const s of snapshot.held) for (const r of state.reorder.push(s).ready) void this.window(state, r, undefined);
  }

  private route(state: StreamState, window: Window): boolean | Promise<void> {
    const { binding } = state;
    const model = state.mode === null ? binding.model : state.mode.model;
    const lane = this.laneFor(model);
    if (!lane) {
      if (this.deps.learning?.(binding.spec.id, binding.labels) !== false) {
        if (state.mode === null) this.deps.learner?.offer(binding, window);
        else this.deps.learner?.offer(binding, window, model, state.mode.filter);
      }
      return true;
    }
    const r = lane.push(window);
    if (r === false) this.deps.ctx.events.queueDropped(`windows:${model}`, 1);
    else state.queued++;
    return r;
  }

  /** An insufficient window goes to the alert state machine after the stream's windows queued before it. */
  private observeInsufficient(state: StreamState, time: number, completeness: number): void {
    if (state.done >= state.queued) {
      this.emit(state.binding.alerts.observeInsufficient({ time, completeness }));
      return;
    }
    (state.held ??= []).push({ upTo: state.queued, time, completeness });
  }

  /** One of the stream's queued windows was scored (and observed) or failed to score: release what waited for it. */
  private windowDone(state: StreamState): void {
    state.done++;
    const held = state.held;
    if (held === null) return;
    while (held.length > 0 && held[0].upTo <= state.done) {
      const h = held.shift() as HeldInsufficient;
      this.emit(state.binding.alerts.observeInsufficient({ time: h.time, completeness: h.completeness }));
    }
    if (held.length === 0) state.held = null;
  }

  private laneFor(model: string): ModelLane | undefined {
    let lane = this.lanes.get(model);
    if (lane) return lane;
    const detector = this.deps.detectorFor(model);
    if (!detector) return undefined;
    const o = this.deps.options;
    lane = new ModelLane(
      model,
      detector,
      { capacity: o.queueCapacity, whenFull: o.whenFull, maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, wantsExpected: this.wantsExpected },
      (m, windows, scored, seconds, detector) => this.onScored(m, windows, scored, seconds, detector),
      (m, windows, kind, detail) => {
        this.deps.ctx.events.scoringFailed(m, windows.length, kind, detail);
        for (const w of windows) {
          const state = this.streams.get(w.stream);
          if (state) this.windowDone(state);
        }
      },
    );
    this.lanes.set(model, lane);
    return lane;
  }

  /** Whether the window's stream writes what the model expected of it (the lane then keeps the reconstruction). */
  private readonly wantsExpected = (w: Window): boolean => this.streams.get(w.stream)?.binding.expected !== undefined;

  private onScored(model: string, windows: readonly Window[], scored: readonly ScoredWindow[], seconds: number, detector: ScoringModel): void {
    const { events } = this.deps.ctx;
    events.inferenceBatch(model, windows.length, seconds);
    const modelVersion = this.deps.versionOf?.(model);
    const points: ScorePoint[] = [];
    for (let i = 0; i < scored.length; i++) {
      const s = scored[i];
      const state = this.streams.get(s.stream);
      if (!state) continue;
      const { binding } = state;
      const channels = binding.spec.channels;
      const learn = this.deps.learning?.(s.stream, binding.labels) !== false;
      const filter = state.mode === null ? binding.scoreFilter : state.mode.filter;
      const f = filter?.filter({
        time: s.end, score: s.score, threshold: s.threshold, pValue: s.pValue, anomalous: s.anomalous,
        window: { values: windows[i].values, channels: channels.length },
        learn,
      }) ?? s;
      events.windowScored(s.stream, model, f.score, f.threshold, f.anomalous);
      const point: ScorePoint = {
        stream: s.stream,
        model,
        modelVersion,
        time: s.end,
        windowStart: s.start,
        score: f.score,
        threshold: f.threshold,
        pValue: f.pValue,
        anomalous: f.anomalous,
        completeness: s.completeness,
        channelShares: shareRecord(channels, s.channelShares),
      };
      points.push(writesExpected(binding.expected, s) ? this.withExpected(point, state, windows[i], s) : point);
      this.emit(binding.alerts.observe(new ScoredObservation(s.end, f.score, f.threshold, f.pValue, f.anomalous, channels, s.channelShares, detector, windows[i])));
      // Retraining learns the stream's own model: a window a mode's own model scored is not that model's data.
      if (model === binding.model) this.deps.scored?.(binding, windows[i], s.pValue, learn);
      this.windowDone(state);
    }
    for (const sink of this.sinks) sink.writeScores?.(points);
    this.deps.shadow?.(model, windows);
  }

  /** The score point with what the stream writes of the model's expectation (pipeline/expectedValues.ts). */
  private withExpected(point: ScorePoint, state: StreamState, window: Window, s: ScoredWindow & { expected: Float32Array }): ScorePoint {
    const output = state.binding.expected;
    const channels = state.binding.spec.channels;
    let out = output?.values ? { ...point, ...expectedFields(channels, window, s.expected, s.tolerance) } : point;
    if (output?.denoised) {
      const denoised = denoisedSamples(channels, window, s.expected, state.denoisedUntil);
      if (denoised.length > 0) {
        state.denoisedUntil = denoised[denoised.length - 1].time;
        out = { ...out, denoised };
      }
    }
    return out;
  }

  private emit(notices: readonly AlertNotice[]): void {
    const gate = this.deps.gate;
    for (let i = 0; i < notices.length; i++) {
      const notice = gate ? gate(notices[i]) : notices[i];
      // A stall resolved (or retired) while its page is still held for grouping: the page goes first.
      if (notice.kind === 'ingestion_stalled' && notice.status === 'resolved' && this.deps.stallSummary) this.emit(this.deps.stallSummary.before(notice));
      this.deps.ctx.events.alertNotice(notice);
      for (const sink of this.sinks) sink.writeAlert?.(notice);
    }
  }
}

/** The checkpoint key of a mode's score filter. */
export function modeFilterKey(stream: string, mode: string): string {
  return `${stream}@${mode}`;
}

/** Whether a stream's window buffer can carry over from one binding to the next. */
function sameGeometry(a: StreamBinding, b: StreamBinding): boolean {
  // Not the rhythm: a kept buffer takes the tracker of the new settings on its samples (followRhythm).
  const w = (o: WindowOptions): string => JSON.stringify([o.size, o.hop, o.maxGapMs, o.minCompleteness, o.samplePeriodMs ?? null, o.maxGapSteps ?? null]);
  return (
    a.spec.channels.length === b.spec.channels.length &&
    a.spec.channels.every((c, i) => c === b.spec.channels[i]) &&
    w(a.window) === w(b.window) &&
    (a.maxLatenessMs ?? 0) === (b.maxLatenessMs ?? 0)
  );
}
