// How a new stream is bound on its first message: its subscription (and `streams` entry) give the channels,
// the merged detection settings and the model; its alert state machine is created here, restored from the
// state file when the daemon ran before.
import { effectiveDetection } from '../config/detection';
import type { Config, DetectionConfig } from '../config/schema';
import type { AlertNotice } from '../core/alert';
import { AlertStateMachine } from '../core/alerting';
import type { StreamScoreFilter } from '../core/scoreFilter';
import { StallDetector } from '../core/stall';
import type { ComponentContext } from '../core/context';
import type { StreamBinding } from '../pipeline/pipeline';
import type { StreamSamples } from '../sources/source';
import { alertSettings, newScoreFilter, windowOptions } from './detection';
import { AUTO_PREFIX } from './models';
import type { StateStore } from './stateStore';

export interface Binder {
  bind(batch: StreamSamples): StreamBinding | { refused: string };
  /** Alert snapshots of every bound stream, for the state file. */
  persist(): void;
}

/**
 * `onRestored` receives the alerts still firing when a stream's state is restored after a restart (the
 * Alertmanager sink re-asserts them; webhooks already got them before the restart and are not paged again).
 */
export function createBinder(
  ctx: ComponentContext,
  config: Config,
  state: StateStore,
  onRestored: (active: readonly AlertNotice[]) => void = () => undefined,
): Binder {
  const machines = new Map<string, AlertStateMachine>();
  return {
    bind(batch) {
      const subscription = config.subscriptions[batch.subscription];
      if (!subscription) return { refused: `no subscription #${batch.subscription}` };
      const explicit = config.streams.find((s) => s.id === batch.stream);
      const detection = effectiveDetection(config.defaults, subscription, explicit);
      const channels = explicit?.channels ?? subscription.channels;
      const configured = explicit?.model !== undefined && explicit.model !== 'auto' ? explicit.model : subscription.model;
      const model = configured === 'auto' ? `${AUTO_PREFIX}${batch.stream}` : configured;
      if (configured !== 'auto' && !config.models[configured]) return { refused: `model '${configured}' is not configured` };
      const machine = new AlertStateMachine({ ...alertSettings(detection.alerting), stream: batch.stream, model, labels: batch.labels, nextSequence: state.nextSequence });
      const snapshot = state.alertSnapshot(batch.stream);
      if (snapshot !== undefined) {
        try {
          machine.restore(snapshot);
          onRestored(machine.active());
        } catch (err) {
          ctx.log.warn('Ignoring an unreadable alert state for the stream.', { stream: batch.stream, error: (err as Error).message });
        }
      }
      machines.set(batch.stream, machine);
      return {
        spec: { id: batch.stream, channels: [...channels] },
        model,
        stall: new StallDetector(
          { stream: batch.stream, model, labels: batch.labels, silenceMs: detection.alerting.stall_after_ms, nextSequence: state.nextSequence },
          ctx.clock.now(),
        ),
        window: windowOptions(detection.window),
        ...scoreFilter(detection),
        maxLatenessMs: detection.window.max_lateness_ms,
        labels: batch.labels,
        alerts: {
          observe: (w) => persistAfter(machine.observe(w)),
          observeInsufficient: (w) => persistAfter(machine.observeInsufficient(w)),
        },
      };
      function persistAfter<T extends readonly unknown[]>(notices: T): T {
        if (notices.length > 0) state.setAlertSnapshot(batch.stream, machine.snapshot());
        return notices;
      }
    },
    persist() {
      for (const [stream, m] of machines) state.setAlertSnapshot(stream, m.snapshot());
    },
  };
}

/** The stream's score filter (anomaly likelihood) when the config enables one; spread into the binding. */
function scoreFilter(detection: DetectionConfig): { scoreFilter?: StreamScoreFilter } {
  const filter = newScoreFilter(detection.calibration);
  return filter ? { scoreFilter: filter } : {};
}
