// How a new stream is bound on its first message: its subscription (and `streams` entry) give the channels,
// the merged detection settings and the model; its alert state machine is created here, restored from the
// state file when the daemon ran before. On a config reload every bound stream is bound again under the new
// config, carrying its alert state, stall state and (when its settings did not change) its score filter over.
import { effectiveDetection } from '../config/detection';
import type { Config, SubscriptionConfig } from '../config/schema';
import type { AlertNotice } from '../core/alert';
import { AlertStateMachine } from '../core/alerting';
import { StallDetector } from '../core/stall';
import { SensorCheck } from '../core/sensorCheck';
import type { ComponentContext } from '../core/context';
import type { StreamBinding } from '../pipeline/pipeline';
import type { StreamSamples } from '../sources/source';
import { alertSettings, newScoreFilter, sensorCheckOptions, windowOptions } from './detection';
import { AUTO_PREFIX } from './models';
import type { StateStore } from './stateStore';

export interface Binder {
  bind(batch: StreamSamples): StreamBinding | { refused: string };
  /**
   * Config reload: from now on new streams are bound under `next`; the returned function gives each already
   * bound stream its binding under `next`, or null when no subscription of `next` produces it any more.
   */
  rebind(next: Config): (old: StreamBinding) => StreamBinding | null;
  /** Alert snapshots of every bound stream, for the state file. */
  persist(): void;
  /** The firing alerts of every bound stream (a new Alertmanager sink re-asserts them). */
  active(): AlertNotice[];
}

/** What the binder remembers of a bound stream beyond its binding. */
interface Bound {
  readonly subscription: number;
  readonly machine: AlertStateMachine;
  /** The calibration settings its score filter was built from (a reload keeps the filter when they are equal). */
  readonly filterKey: string;
}

/**
 * `onRestored` receives the alerts still firing when a stream's state is restored after a restart (the
 * Alertmanager sink re-asserts them; webhooks already got them before the restart and are not paged again).
 */
export function createBinder(
  ctx: ComponentContext,
  initial: Config,
  state: StateStore,
  onRestored: (active: readonly AlertNotice[]) => void = () => undefined,
): Binder {
  let config = initial;
  const bound = new Map<string, Bound>();

  /** The binding of `stream` from subscription `index` of `config`; `carry` continues an earlier binding. */
  function bindingFor(
    index: number,
    stream: string,
    labels: Readonly<Record<string, string>>,
    carry?: { old: StreamBinding; was: Bound },
  ): StreamBinding | { refused: string } {
    const subscription = config.subscriptions[index];
    if (!subscription) return { refused: `no subscription #${index}` };
    const explicit = config.streams.find((s) => s.id === stream);
    const detection = effectiveDetection(config.defaults, subscription, explicit);
    const channels = explicit?.channels ?? subscription.channels;
    const configured = explicit?.model !== undefined && explicit.model !== 'auto' ? explicit.model : subscription.model;
    const model = configured === 'auto' ? `${AUTO_PREFIX}${stream}` : configured;
    if (configured !== 'auto' && !config.models[configured]) return { refused: `model '${configured}' is not configured` };
    const machine = new AlertStateMachine({ ...alertSettings(detection.alerting), stream, model, labels, nextSequence: state.nextSequence });
    if (carry) machine.restore(carry.was.machine.snapshot());
    else restoreFromStateFile(machine, stream);
    const filterKey = JSON.stringify(detection.calibration.likelihood);
    const filter = carry && carry.was.filterKey === filterKey ? carry.old.scoreFilter : newScoreFilter(detection.calibration);
    const stallOptions = { stream, model, labels, silenceMs: detection.alerting.stall_after_ms, nextSequence: state.nextSequence };
    const sensorOptions = { ...sensorCheckOptions(detection.alerting), stream, model, channels, labels, nextSequence: state.nextSequence };
    const sensors = carry?.old.sensors ? carry.old.sensors.reconfigured(sensorOptions) : new SensorCheck(sensorOptions);
    bound.set(stream, { subscription: index, machine, filterKey });
    return {
      spec: { id: stream, channels: [...channels] },
      model,
      stall: carry?.old.stall ? carry.old.stall.reconfigured(stallOptions) : new StallDetector(stallOptions, ctx.clock.now()),
      window: windowOptions(detection.window),
      ...(filter ? { scoreFilter: filter } : {}),
      ...(sensors.enabled ? { sensors } : {}),
      maxLatenessMs: detection.window.max_lateness_ms,
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

  function restoreFromStateFile(machine: AlertStateMachine, stream: string): void {
    const snapshot = state.alertSnapshot(stream);
    if (snapshot === undefined) return;
    try {
      machine.restore(snapshot);
      onRestored(machine.active());
    } catch (err) {
      ctx.log.warn('Ignoring an unreadable alert state for the stream.', { stream, error: (err as Error).message });
    }
  }

  return {
    bind(batch) {
      return bindingFor(batch.subscription, batch.stream, batch.labels);
    },
    rebind(next) {
      const previous = config;
      config = next;
      return (old) => {
        const stream = old.spec.id;
        const was = bound.get(stream);
        if (!was) return null;
        const index = matchingSubscription(previous.subscriptions[was.subscription], next.subscriptions, was.subscription);
        if (index < 0) {
          bound.delete(stream);
          state.setAlertSnapshot(stream, was.machine.snapshot());
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
    persist() {
      for (const [stream, b] of bound) state.setAlertSnapshot(stream, b.machine.snapshot());
    },
    active() {
      return [...bound.values()].flatMap((b) => b.machine.active());
    },
  };
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

