// How a new stream is bound on its first message: its subscription (and `streams` entry) give the channels,
// the merged detection settings and the model; its alert state machine, stall detector and sensor checks are
// created here, restored from the state file when the daemon ran before (a firing alert goes on firing without
// a second page and resolves when its condition clears). On a config reload every bound stream is bound again
// under the new config, carrying its alert state, stall state, sensor history and (when its settings did not
// change) its score filter over; a stream the new config no longer produces has its firing alerts resolved,
// with the reason, and is forgotten.
import { configuredModel, streamDetection } from '../config/detection';
import type { Config, DetectionConfig, SubscriptionConfig } from '../config/schema';
import { resolveShard } from '../config/shard';
import type { AlertNotice } from '../core/alert';
import { AlertStateMachine } from '../core/alerting';
import { reviveFiringNotice } from '../core/alertNoticeCheck';
import { retiredNotice } from '../core/alertRetire';
import { snapshotProblem, type AlertSnapshot } from '../core/alertSnapshot';
import { errorMessage } from '../core/errors';
import { shardOwnership } from '../core/shard';
import { StallDetector } from '../core/stall';
import { SensorCheck } from '../core/sensorCheck';
import type { ComponentContext } from '../core/context';
import type { StreamScoreFilter } from '../core/scoreFilter';
import type { Calibration } from '../core/calibration';
import type { Admission, StreamBinding } from '../pipeline/pipeline';
import { admit, StreamAllowList, StreamRateBucket, type AdmissionRule } from '../core/streamAdmission';
import type { StreamSamples } from '../sources/source';
import type { LearnedScales } from '../model/learnedModel';
import { alertOptions, newScoreFilter, scoreFilterKey, sensorCheckOptions, streamWindowOptions } from './detection';
import { withScales } from './scaleFilters';
import type { CalibrationSource } from './detection';
import { AUTO_PREFIX } from './models';
import { streamModes } from '../config/modes';
import { modeFilterKey } from '../pipeline/pipeline';
import { MACHINE_STOPPED, modeBinding } from './modeBindings';
import { MODE_NAME } from '../core/modeTracker';
import type { StateStore } from '../state/stateStore';
import { learnsChannels } from '../config/learntChannels';
import { CHANNEL_NAME, MAX_LEARNT_CHANNELS } from '../sources/sparkplugState';

export interface Binder {
  bind(batch: StreamSamples): StreamBinding | { refused: string };
  /**
   * Config reload: from now on new streams are bound under `next`; the returned function gives each already
   * bound stream its binding under `next`, or null when no subscription of `next` produces it any more.
   */
  rebind(next: Config): (old: StreamBinding) => StreamBinding | null;
  /** Alert, stall and sensor-check snapshots of every bound stream, for the state file. */
  persist(): void;
  /** The effective detection settings a bound stream was bound with (auto-learning trains it with these). */
  detectionOf(stream: string): DetectionConfig | undefined;
  /** The firing alerts of every bound stream (a new Alertmanager sink re-asserts them). */
  active(): AlertNotice[];
  /**
   * At start, once the sinks and the pipeline run: the alerts the state file holds as firing are re-asserted
   * (onRestored) for streams the config still produces, before they send again (a stalled stream may not for a
   * long time, and Alertmanager would let its alert expire meanwhile); those of streams it no longer produces
   * (subscription removed, or the stream moved to another shard, while the daemon was stopped) are resolved
   * with the reason (notify) and forgotten. Returns, as empty batches, the saved streams still produced whose
   * subscription and labels are known, for the pipeline to bind before their first message (Pipeline.adopt).
   */
  reconcileSaved(): StreamSamples[];
  /** Each subscription's allow_streams and new_streams_per_minute, for the pipeline (rules follow config reloads). */
  readonly admission: Admission;
  /**
   * An idle stream is to be evicted (Pipeline.evictIdle): false while an alert of it is firing (kept until it
   * resolves); else its alert state and saved state are forgotten, and true.
   */
  evict(stream: string): boolean;
  /**
   * A stream starts afresh (a Sparkplug birth gave channels its learning had not seen): what it has firing
   * resolves with `reason`, and its alert state and saved state are forgotten; the next message binds it anew.
   */
  restart(stream: string, reason: string): void;
}

export interface BinderHooks {
  /**
   * The alerts still firing when a stream's state is restored after a restart (the Alertmanager sink re-asserts
   * them; webhooks already got them before the restart and are not paged again): see reconcileSaved(), then
   * again as each stream is bound.
   */
  readonly onRestored?: (active: readonly AlertNotice[]) => void;
  /** Notices raised outside the sample flow (a reload resolving a removed stream's alerts): sent to the sinks. */
  readonly notify?: (notices: readonly AlertNotice[]) => void;
  /**
   * The extra scales' detectors learned with a model (calibration.likelihood.coarse_pool, transform_scale),
   * looked up per window.
   */
  readonly scalesOf?: (model: string) => LearnedScales | undefined;
  /**
   * The raw range per channel (in `channels`' order) a learned model saw while learning, when it is loaded: the
   * new score filter of an auto-learning stream starts its range check from it (after a restart the filter is
   * new and would otherwise judge the first windows against the range of one window).
   */
  readonly learnedRange?: (model: string, channels: readonly string[]) => { readonly lo: readonly number[]; readonly hi: readonly number[] } | undefined;
  /** The calibration of a loaded model (its manifest's): a SPOT filter (calibration.method spot) starts from its tail. */
  readonly calibrationFor?: (model: string) => Calibration | null | undefined;
  /** A new score filter of one of a stream's modes, under its checkpoint key (`<stream>@<mode>`): continue it from the last checkpoint. */
  readonly restoreFilter?: (key: string, filter: StreamScoreFilter) => void;
}

/** What the binder remembers of a bound stream beyond its binding. */
interface Bound {
  readonly subscription: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly machine: AlertStateMachine;
  readonly stall: StallDetector;
  readonly sensors: SensorCheck;
  /** The calibration settings its score filter was built from (a reload keeps the filter when they are equal). */
  readonly filterKey: string;
  /** Its `modes` entry as bound (a reload keeps the mode filters when it and filterKey are unchanged). */
  readonly modesKey: string;
  /** Its effective detection settings (what auto-learning trains it with). */
  readonly detection: DetectionConfig;
  /**
   * The revisions of its parts last handed to the state store (-1: never): a checkpoint copies only the streams
   * that changed since (at 1,000 streams, copying all of them was ~9 ms of the event loop every 2 s).
   */
  readonly saved: { alert: number; checks: string };
  /** Its operating mode as the pipeline last reported it (null: none, or no modes). */
  readonly mode: { current: string | null };
  /** Why it is offline (its Sparkplug edge node or device died and was not born again); null: online. */
  readonly liveness: { offline: string | null };
  /** Its channels where they were learnt from its Sparkplug birth (learnsChannels); null: the config's or model's. */
  readonly learnt: readonly string[] | null;
}

/** What the state file keeps per stream besides the alert state machine (StateStore.checkSnapshot). */
interface CheckSnapshots {
  readonly stall?: unknown;
  readonly sensors?: unknown;
  /** The subscription the stream was bound from, as matchingSubscription compares them. */
  readonly subscription?: SubscriptionIdentity;
  /** Its labels from the topic template. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Its operating mode (streams with `modes`): a machine that is off stays off across a restart. */
  readonly mode?: string;
  /** Why it is offline (a Sparkplug death): a dead device stays offline across a restart until it is born again. */
  readonly offline?: string;
  /** Its channels learnt from a Sparkplug birth: a restarted daemon binds it (and checks its stall) before the next birth. */
  readonly channels?: readonly string[];
}

type SubscriptionIdentity = Pick<SubscriptionConfig, 'topic' | 'template' | 'stream'>;

const SENSOR_CHECKS_OFF = 'The sensor checks of the stream were turned off in the configuration while this alert was firing.';

/** The reason on the resolves of a stream that a reload removed. */
export function removedReason(stream: string): string {
  return `Stream '${stream}' was removed from the configuration by a reload and is no longer monitored; its open alerts are closed.`;
}

/** The reason on the resolves, at start, of a saved stream the config no longer produces. */
export function goneReason(stream: string): string {
  return `Stream '${stream}' is no longer monitored by this daemon (its subscription was removed, or it moved to another shard, while the daemon was stopped); its open alerts are closed.`;
}

export function createBinder(ctx: ComponentContext, initial: Config, state: StateStore, hooks: BinderHooks = {}): Binder {
  let config = initial;
  const bound = new Map<string, Bound>();
  const onRestored = hooks.onRestored ?? (() => undefined);
  let rules = admissionRules(initial);
  const notify = hooks.notify ?? (() => undefined);

  /** The calibration of `model` as loaded when a window of it is judged (SPOT filters). */
  function calibrationOf(model: string): CalibrationSource {
    return () => hooks.calibrationFor?.(model);
  }

  /** The stream's likelihood filter with the extra scales its model learned (scaleFilters.ts). */
  function withModelScales(filter: StreamScoreFilter | undefined, detection: DetectionConfig, stream: string, model: string, channels: number): StreamScoreFilter | undefined {
    const scalesOf = hooks.scalesOf;
    const { size, hop } = detection.window;
    return scalesOf ? withScales(filter, detection, () => scalesOf(model), { stream, channels, size, hop }) : filter;
  }

  /** The binding of `stream` from subscription `index` of `config`; `carry` continues an earlier binding. */
  function bindingFor(
    index: number,
    stream: string,
    labels: Readonly<Record<string, string>>,
    carry?: { old: StreamBinding; was: Bound },
    fromData?: readonly string[],
  ): StreamBinding | { refused: string } {
    const subscription = config.subscriptions[index];
    if (!subscription) return { refused: `no subscription #${index}` };
    const explicit = config.streams.find((s) => s.id === stream);
    // A stream that learns its own model (model "auto") gets the auto_learn profile over `defaults`.
    const detection = streamDetection(config, subscription, explicit);
    // Learnt from the stream's Sparkplug birth: this message's, else as bound before the reload or the restart.
    const learnt = learnsChannels(subscription) ? (fromData ?? (carry ? carry.old.spec.channels : savedChannels(stream))) : undefined;
    const channels = explicit?.channels ?? subscription.channels ?? learnt;
    // Unset only where the model did not load (applyModelShapes fills them in from the manifest), or where they are
    // learnt from a birth that has not come yet.
    if (!channels) return { refused: learnsChannels(subscription) ? `stream '${stream}' has no channels yet: they are learnt from its Sparkplug birth` : `subscription #${index} names no channels and its model did not load` };
    const rhythm = detection.training.rhythm;
    if (rhythm.enabled && !channels.includes(rhythm.channel)) return { refused: `rhythm.channel '${rhythm.channel}' is not one of the channels of stream '${stream}' (${channels.join(', ')})` };
    const configured = configuredModel(subscription, explicit);
    const model = configured === 'auto' ? `${AUTO_PREFIX}${stream}` : configured;
    if (configured !== 'auto' && !config.models[configured]) return { refused: `model '${configured}' is not configured` };
    const identity = { stream, model, labels, nextSequence: state.nextSequence };
    const machine = new AlertStateMachine(alertOptions(detection.alerting, identity));
    const filterKey = scoreFilterKey(detection.calibration);
    const filter = carry && carry.was.filterKey === filterKey ? carry.old.scoreFilter : withModelScales(newScoreFilter(detection.calibration, calibrationOf(model)), detection, stream, model, channels.length);
    if (filter && filter !== carry?.old.scoreFilter && configured === 'auto') {
      const range = hooks.learnedRange?.(model, channels);
      if (range) filter.seedRange?.(range.lo, range.hi);
    }
    const stallOptions = { stream, model, labels, silenceMs: detection.alerting.stall_after_ms, nextSequence: state.nextSequence };
    const sensorOptions = sensorCheckOptions(detection.alerting, identity, channels);
    let stall: StallDetector;
    let sensors: SensorCheck;
    if (carry) {
      machine.restore(carry.was.machine.snapshot());
      stall = carry.was.stall.reconfigured(stallOptions);
      sensors = carry.was.sensors.reconfigured(sensorOptions);
    } else {
      stall = new StallDetector(stallOptions, ctx.clock.now());
      sensors = new SensorCheck(sensorOptions);
      restoreFromStateFile(stream, machine, stall, sensors);
    }
    // With every check off the pipeline never asks the sensor checks again: a firing one would stay open.
    if (!sensors.enabled && sensors.active().length > 0) notify(sensors.retire(ctx.clock.now(), SENSOR_CHECKS_OFF));
    const modes = streamModes(subscription, explicit);
    const modesKey = JSON.stringify(modes ?? null);
    const mode = { current: modes ? (carry ? carry.was.mode.current : savedMode(stream)) : null };
    const liveness = { offline: carry ? carry.was.liveness.offline : savedOffline(stream) };
    bound.set(stream, { subscription: index, labels, machine, stall, sensors, filterKey, modesKey, detection, saved: { alert: -1, checks: '' }, mode, liveness, learnt: learnt ?? null });
    const carriedModes = carry && carry.was.filterKey === filterKey && carry.was.modesKey === modesKey ? carry.old.modes?.filters() : undefined;
    const modeFilter = (mode: string, modeModel: string): StreamScoreFilter | undefined => {
      const f = withModelScales(newScoreFilter(detection.calibration, calibrationOf(modeModel)), detection, stream, modeModel, channels.length);
      if (!f) return undefined;
      const range = modeModel.startsWith(AUTO_PREFIX) ? hooks.learnedRange?.(modeModel, channels) : undefined;
      if (range) f.seedRange?.(range.lo, range.hi);
      hooks.restoreFilter?.(modeFilterKey(stream, mode), f);
      return f;
    };
    return {
      ...(modes
        ? {
            modes: modeBinding({
              stream,
              channels,
              modes,
              baseModel: model,
              baseFilter: filter,
              newFilter: modeFilter,
              stopped: (now) => persistAfter([...machine.retire(now, MACHINE_STOPPED, state.nextSequence), ...sensors.retire(now, MACHINE_STOPPED), ...stall.retire(now, MACHINE_STOPPED)]),
              ...(carriedModes ? { carried: carriedModes } : {}),
              initial: mode.current,
              changed: (next) => void (mode.current = next),
            }),
          }
        : {}),
      spec: { id: stream, channels: [...channels] },
      model,
      stall,
      wentOffline: (now, reason) => persistAfter([...machine.retire(now, reason, state.nextSequence), ...sensors.retire(now, reason), ...stall.retire(now, reason)]),
      ...(liveness.offline !== null ? { savedOffline: liveness.offline } : {}),
      livenessChanged: (offline) => void (liveness.offline = offline),
      window: streamWindowOptions(detection, channels),
      ...(filter ? { scoreFilter: filter } : {}),
      ...(sensors.enabled ? { sensors } : {}),
      maxLatenessMs: detection.window.max_lateness_ms,
      ...(detection.expected.values || detection.expected.denoised ? { expected: detection.expected } : {}),
      labels,
      alerts: {
        observe: (w) => persistAfter(machine.observe(w)),
        observeInsufficient: (w) => persistAfter(machine.observeInsufficient(w)),
      },
    };
    function persistAfter<T extends readonly unknown[]>(notices: T): T {
      if (notices.length > 0) state.setAlertSnapshot(stream, machine.snapshot());
      return notices;
    }
  }

  /** Each part whose saved state is readable continues from it; an unreadable part starts afresh, logged. */
  function restoreFromStateFile(stream: string, machine: AlertStateMachine, stall: StallDetector, sensors: SensorCheck): void {
    const restored: AlertNotice[] = [];
    const restore = (snapshot: unknown, part: { restore(s: unknown): void; active(): AlertNotice[] }): void => {
      if (snapshot === undefined) return;
      try {
        part.restore(snapshot);
        restored.push(...part.active());
      } catch (err) {
        ctx.log.warn('Ignoring an unreadable alert state for the stream.', { stream, error: errorMessage(err) });
      }
    };
    restore(state.alertSnapshot(stream), machine);
    const checks = state.checkSnapshot(stream);
    if (typeof checks === 'object' && checks !== null) {
      restore((checks as CheckSnapshots).stall, stall);
      restore((checks as CheckSnapshots).sensors, sensors);
    }
    if (restored.length > 0) onRestored(restored);
  }

  /** A stream no longer configured: resolve what it has firing (no later sample will), forget its state. */
  function retire(stream: string, was: Bound, reason = removedReason(stream), said = 'Resolved the open alerts of a stream the reloaded configuration no longer has.'): void {
    const now = ctx.clock.now();
    const notices = [
      ...was.machine.active().map((n) => retiredNotice(n, now, reason, state.nextSequence())),
      ...was.stall.retire(now, reason),
      ...was.sensors.retire(now, reason),
    ];
    state.forgetStream(stream);
    if (notices.length === 0) return;
    ctx.log.info(said, { stream, alerts: notices.map((n) => n.kind).join(',') });
    notify(notices);
  }

  function checkSnapshots(b: Bound): CheckSnapshots {
    // A stream without sensor checks has no history worth the bytes (1,000 streams x 8 channels at every checkpoint).
    const sensors = b.sensors.enabled || b.sensors.active().length > 0 ? b.sensors.snapshot() : undefined;
    const sub = config.subscriptions[b.subscription];
    const subscription = sub ? { topic: sub.topic, stream: sub.stream, ...(sub.template !== undefined ? { template: sub.template } : {}) } : undefined;
    return {
      stall: b.stall.snapshot(),
      ...(sensors ? { sensors } : {}),
      ...(subscription ? { subscription, labels: b.labels } : {}),
      ...(b.mode.current !== null ? { mode: b.mode.current } : {}),
      ...(b.liveness.offline !== null ? { offline: b.liveness.offline } : {}),
      ...(b.learnt !== null ? { channels: b.learnt } : {}),
    };
  }

  /**
   * Where the running config produces a saved stream: the index of its subscription, -1 when it no longer does,
   * undefined when unknown (a state file without the subscription: assumed produced).
   */
  function producedBy(stream: string, owns: (stream: string) => boolean): number | undefined {
    if (!owns(stream)) return -1;
    const checks = state.checkSnapshot(stream) as CheckSnapshots | undefined;
    const sub = typeof checks === 'object' && checks !== null ? checks.subscription : undefined;
    if (typeof sub !== 'object' || sub === null || typeof sub.topic !== 'string' || typeof sub.stream !== 'string') return undefined;
    return matchingSubscription(sub as SubscriptionConfig, config.subscriptions, -1);
  }

  /** The saved operating mode of a stream, if it is a mode name. */
  function savedMode(stream: string): string | null {
    const mode = (state.checkSnapshot(stream) as CheckSnapshots | undefined)?.mode;
    return typeof mode === 'string' && MODE_NAME.test(mode) ? mode : null;
  }

  /** Why a saved stream was offline when the previous run stopped; null: it was online (or nothing readable was saved). */
  function savedOffline(stream: string): string | null {
    const offline = (state.checkSnapshot(stream) as CheckSnapshots | undefined)?.offline;
    return typeof offline === 'string' && offline.length > 0 ? offline.slice(0, 1_000) : null;
  }

  /** The channels a saved stream learnt from its Sparkplug birth, if they read as channel names. */
  function savedChannels(stream: string): readonly string[] | undefined {
    const channels = (state.checkSnapshot(stream) as CheckSnapshots | undefined)?.channels;
    if (!Array.isArray(channels) || channels.length === 0 || channels.length > MAX_LEARNT_CHANNELS) return undefined;
    return channels.every((c) => typeof c === 'string' && CHANNEL_NAME.test(c)) ? [...(channels as string[])] : undefined;
  }

  /** The saved labels of a stream, if they are a string map. */
  function savedLabels(stream: string): Record<string, string> | undefined {
    const labels = (state.checkSnapshot(stream) as CheckSnapshots | undefined)?.labels;
    if (typeof labels !== 'object' || labels === null || !Object.values(labels).every((v) => typeof v === 'string')) return undefined;
    return { ...labels };
  }

  return {
    bind(batch) {
      return bindingFor(batch.subscription, batch.stream, batch.labels, undefined, batch.channels);
    },
    admission: {
      allowed: (batch) => {
        const rule = rules[batch.subscription];
        return rule?.allow ? admit({ allow: rule.allow }, batch.stream, 0) : null;
      },
      rate: (batch, now) => {
        const rule = rules[batch.subscription];
        return rule?.bucket ? admit({ bucket: rule.bucket }, batch.stream, now) : null;
      },
    },
    restart(stream, reason) {
      const was = bound.get(stream);
      bound.delete(stream);
      if (was) retire(stream, was, reason, 'Resolved the open alerts of a stream that learns again.');
      else state.forgetStream(stream);
    },
    evict(stream) {
      const b = bound.get(stream);
      if (b && b.machine.active().length + b.stall.active().length + b.sensors.active().length > 0) return false;
      bound.delete(stream);
      state.forgetStream(stream);
      return true;
    },
    rebind(next) {
      const previous = config;
      config = next;
      rules = admissionRules(next);
      return (old) => {
        const stream = old.spec.id;
        const was = bound.get(stream);
        if (!was) return null;
        const index = matchingSubscription(previous.subscriptions[was.subscription], next.subscriptions, was.subscription);
        if (index < 0) {
          bound.delete(stream);
          retire(stream, was);
          return null;
        }
        const binding = bindingFor(index, stream, old.labels, { old, was });
        if ('refused' in binding) {
          // The loader's checks make this unreachable (every model a subscription names is configured).
          ctx.log.warn('Keeping the previous settings of the stream.', { stream, reason: binding.refused });
          bound.set(stream, was);
          return old;
        }
        return binding;
      };
    },
    detectionOf(stream) {
      return bound.get(stream)?.detection;
    },
    persist() {
      for (const [stream, b] of bound) {
        // A stream that never completed a window, with nothing firing, is not saved: a made-up topic must not be
        // bound again at every start (its first window, or an alert, saves it).
        if (!b.stall.healthy && b.saved.alert === -1 && b.machine.active().length + b.stall.active().length + b.sensors.active().length === 0) continue;
        const alert = b.machine.revision;
        if (alert !== b.saved.alert) {
          state.setAlertSnapshot(stream, b.machine.snapshot());
          b.saved.alert = alert;
        }
        // The subscription and labels part only changes with a new Bound (rebind), which starts unsaved.
        const checks = `${b.stall.revision}:${b.sensors.enabled || b.sensors.active().length > 0 ? b.sensors.revision : -1}:${b.mode.current ?? ''}:${b.liveness.offline ?? ''}`;
        if (checks !== b.saved.checks) {
          state.setCheckSnapshot(stream, checkSnapshots(b));
          b.saved.checks = checks;
        }
      }
    },
    active() {
      return [...bound.values()].flatMap((b) => [...b.machine.active(), ...b.stall.active(), ...b.sensors.active()]);
    },
    reconcileSaved() {
      const shard = resolveShard(config.shard);
      const owns = shard.ok ? shardOwnership(shard.spec) : () => true;
      const reassert: AlertNotice[] = [];
      const adopt: StreamSamples[] = [];
      for (const stream of state.savedStreams()) {
        if (bound.has(stream)) continue;
        const firing = savedFiring(state, stream);
        const index = producedBy(stream, owns);
        if (index === undefined || index >= 0) {
          reassert.push(...firing);
          const labels = savedLabels(stream);
          if (index !== undefined && labels) adopt.push({ stream, subscription: index, labels, samples: [] });
          continue;
        }
        const now = ctx.clock.now();
        const reason = goneReason(stream);
        const notices = firing.map((n) => retiredNotice(n, now, reason, state.nextSequence()));
        state.forgetStream(stream);
        if (notices.length === 0) continue;
        ctx.log.info('Resolved the open alerts of a saved stream the configuration no longer produces.', { stream, alerts: notices.map((n) => n.kind).join(',') });
        notify(notices);
      }
      if (reassert.length > 0) onRestored(reassert);
      return adopt;
    },
  };
}

/** Per subscription (by index): its allow list and new-stream bucket, where configured. */
function admissionRules(config: Config): AdmissionRule[] {
  return config.subscriptions.map((sub) => ({
    ...(sub.allow_streams ? { allow: new StreamAllowList(sub.allow_streams) } : {}),
    ...(sub.new_streams_per_minute > 0 ? { bucket: new StreamRateBucket(sub.new_streams_per_minute) } : {}),
  }));
}

/**
 * The index in `next` of the subscription that produced a stream: the same entry when it still reads the same
 * topic into the same stream pattern, else the first entry that does (the list may have been reordered), else -1.
 */
export function matchingSubscription(was: SubscriptionConfig | undefined, next: readonly SubscriptionConfig[], index: number): number {
  if (!was) return -1;
  const same = (s: SubscriptionConfig | undefined): boolean => s !== undefined && s.topic === was.topic && s.template === was.template && s.stream === was.stream;
  if (same(next[index])) return index;
  return next.findIndex(same);
}

/** The firing notices the state file holds for a stream; unreadable entries are left to restore() to report. */
function savedFiring(state: StateStore, stream: string): AlertNotice[] {
  const out: AlertNotice[] = [];
  const add = (value: unknown, kind: AlertNotice['kind']): void => {
    if (value === null || value === undefined) return;
    const n = reviveFiringNotice(value, kind, stream);
    if (typeof n !== 'string') out.push(n);
  };
  const alerts = state.alertSnapshot(stream);
  if (alerts !== undefined && snapshotProblem(alerts, stream) === null) {
    const s = alerts as AlertSnapshot;
    if (s.held !== 'none') add(s.anomaly, 'anomaly');
    add(s.insufficient, 'insufficient_data');
  }
  const checks = state.checkSnapshot(stream) as { stall?: { firing?: unknown }; sensors?: { flatline?: unknown; spiking?: unknown } } | undefined;
  const stallKind = (checks?.stall?.firing as { kind?: unknown } | null | undefined)?.kind === 'timestamps_rejected' ? 'timestamps_rejected' : 'ingestion_stalled';
  add(checks?.stall?.firing, stallKind);
  add(checks?.sensors?.flatline, 'sensor_flatline');
  add(checks?.sensors?.spiking, 'sensor_spikes');
  return out;
}
