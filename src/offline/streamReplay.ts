// Replay of a recorded series through the daemon's own Pipeline with a fake clock: per-stream WindowBuffer,
// micro-batched Detector scoring, the per-stream score filter, the AlertStateMachine and a CaptureSink. The
// evaluate commands measure what this returns and `replay` reports it, so their numbers and alerts are the ones
// the daemon would produce on the same samples. Only the row bookkeeping (which row a window or a notice
// belongs to, replayThroughPipeline) is added here.
import type { AlertNotice } from '../core/alert';
import { AlertStateMachine } from '../core/alerting';
import { streamAlertOptions, type AlertSettings } from '../app/detection';
export type { AlertSettings } from '../app/detection';
import { ManualClock } from '../core/clock';
import type { ComponentContext, Events, Log } from '../core/context';
import type { StreamScoreFilter } from '../core/scoreFilter';
import type { SensorCheck } from '../core/sensorCheck';
import type { StreamSpec } from '../core/types';
import type { WindowOptions } from '../core/window';
import type { Detector } from '../model/detector';
import { Pipeline } from '../pipeline/pipeline';
import { CaptureSink } from '../sinks/capture';
import type { ScorePoint } from '../sinks/sink';

export interface ReplayInput {
  readonly stream: StreamSpec;
  /**
   * Sample time of each row (ms). A row at or before the time of the one before is dropped, as the daemon drops
   * it; replayThroughPipeline's row bookkeeping needs increasing times (see monotoneTimes).
   */
  readonly times: Float64Array;
  /** rows x channels values, row-major; NaN = missing. */
  readonly values: ArrayLike<number>;
  readonly window: WindowOptions;
  readonly alerting: AlertSettings;
  /** Per-stream score filter, as the daemon binds one for the stream (undefined: raw detector decisions). */
  readonly scoreFilter?: StreamScoreFilter;
  /** Per-channel sensor checks, as the daemon binds them (undefined: none); their notices land in `notices`. */
  readonly sensors?: SensorCheck;
  /** Reorder tolerance (ms), the stream's window.max_lateness_ms (undefined: none). */
  readonly maxLatenessMs?: number;
  /** Model name on the notices (default 'replay'). */
  readonly model?: string;
  /** Rows handed to the pipeline before it is drained (bounds the window queue). */
  readonly chunkRows?: number;
}

export interface ReplayOutput {
  /** Score of the window that ends at each row; NaN where no scored window ends there. */
  readonly score: Float64Array;
  /** Threshold the row's window was compared with (NaN where none). */
  readonly threshold: Float64Array;
  /** Tail probability of the row's window score (NaN where none). */
  readonly pValue: Float64Array;
  /** 1 where the row's window was anomalous (before debouncing). */
  readonly anomalous: Uint8Array;
  /** 1 while an anomaly alert is firing (from its firing notice's row to the row before its resolve). */
  readonly firing: Uint8Array;
  /** 1 at rows where an anomaly alert started firing (a page). */
  readonly alertStarts: Uint8Array;
  readonly notices: readonly AlertNotice[];
  readonly windows: number;
}

const MODEL = 'replay';

export function replayThroughPipeline(detector: Detector, input: ReplayInput): ReplayOutput {
  const { times } = input;
  const rows = times.length;
  const { scores, notices } = streamThroughPipeline(detector, input);
  const rowOf = new Map<number, number>();
  for (let r = 0; r < rows; r++) rowOf.set(times[r], r);

  const out = {
    score: new Float64Array(rows).fill(NaN),
    threshold: new Float64Array(rows).fill(NaN),
    pValue: new Float64Array(rows).fill(NaN),
    anomalous: new Uint8Array(rows),
    firing: new Uint8Array(rows),
    alertStarts: new Uint8Array(rows),
  };
  for (const p of scores) {
    const r = rowOf.get(p.time);
    if (r === undefined) continue;
    out.score[r] = p.score;
    out.threshold[r] = p.threshold;
    out.pValue[r] = p.pValue;
    out.anomalous[r] = p.anomalous ? 1 : 0;
  }
  markAlerts(notices, rowOf, rows, out.firing, out.alertStarts);
  return { ...out, notices, windows: scores.length };
}

/** What the daemon's sinks would have received for a recording: every score point and every alert notice, in order. */
export interface PipelineRecord {
  readonly scores: readonly ScorePoint[];
  readonly notices: readonly AlertNotice[];
  /** Windows below min_completeness (not scored). */
  readonly insufficient: number;
}

/**
 * Streams the rows through the daemon's Pipeline, one sample a delivery as the MQTT source delivers them, with
 * the clock at each sample's time; the pipeline is stopped at the end, as the daemon stops it at shutdown (held
 * samples released, queued windows scored). Rows the window buffer refuses (a repeated or earlier time) are
 * dropped as the daemon drops them.
 */
export function streamThroughPipeline(detector: Detector, input: ReplayInput): PipelineRecord {
  const { stream, times, values } = input;
  const rows = times.length;
  const channels = stream.channels.length;
  if (values.length !== rows * channels) throw new RangeError(`replay: ${rows} rows x ${channels} channels needs ${rows * channels} values (got ${values.length})`);
  const chunk = input.chunkRows ?? 4096;
  const clock = new ManualClock(rows > 0 ? times[0] : 0);
  const sink = new CaptureSink('evaluate');
  let sequence = 0;
  let insufficient = 0;
  const machine = new AlertStateMachine(streamAlertOptions(input.alerting, { stream: stream.id, model: input.model ?? MODEL, labels: {}, nextSequence: () => ++sequence }));
  const pipeline = new Pipeline({
    ctx: replayContext(clock),
    // Block never triggers: the queue holds a whole chunk and is drained after each one.
    options: { queueCapacity: chunk + 1, whenFull: 'block', maxBatch: 1024, maxWaitMs: 0, maxStreams: 1 },
    bind: () => ({
      spec: stream,
      model: MODEL,
      window: input.window,
      ...(input.maxLatenessMs ? { maxLatenessMs: input.maxLatenessMs } : {}),
      labels: {},
      alerts: {
        observe: (w) => machine.observe(w),
        observeInsufficient: (w) => {
          insufficient++;
          return machine.observeInsufficient(w);
        },
      },
      ...(input.scoreFilter ? { scoreFilter: input.scoreFilter } : {}),
      ...(input.sensors ? { sensors: input.sensors } : {}),
    }),
    detectorFor: (m) => (m === MODEL ? detector : undefined),
    sinks: [sink],
  });

  for (let start = 0; start < rows; start += chunk) {
    const end = Math.min(rows, start + chunk);
    for (let r = start; r < end; r++) {
      clock.set(times[r]);
      const sample = { ts: times[r], values: Array.from({ length: channels }, (_, c) => values[r * channels + c]) };
      void pipeline.deliver({ stream: stream.id, subscription: 0, labels: {}, samples: [sample] });
    }
    pipeline.drain();
  }
  pipeline.stop();
  return { scores: sink.scores, notices: sink.alerts, insufficient };
}

/**
 * Firing intervals from the notices: a firing anomaly notice while none is active starts an alert (an
 * escalation re-notifies the same alert and is not a new page); its resolve ends it.
 */
function markAlerts(notices: readonly AlertNotice[], rowOf: ReadonlyMap<number, number>, rows: number, firing: Uint8Array, starts: Uint8Array): void {
  let activeFrom = -1;
  for (const n of notices) {
    if (n.kind !== 'anomaly') continue;
    if (n.status === 'firing' && activeFrom < 0) {
      activeFrom = rowOf.get(n.startsAt) ?? -1;
      if (activeFrom >= 0) starts[activeFrom] = 1;
    } else if (n.status === 'resolved' && activeFrom >= 0) {
      firing.fill(1, activeFrom, rowOf.get(n.endsAt ?? Infinity) ?? rows);
      activeFrom = -1;
    }
  }
  if (activeFrom >= 0) firing.fill(1, activeFrom, rows);
}

/**
 * Recordings may repeat a time or step back (NAB's DST changes); the WindowBuffer would drop such rows as out
 * of order. Replay moves each such row 1 ms after its predecessor instead, so every row is a sample.
 */
export function monotoneTimes(times: ArrayLike<number>): Float64Array {
  const out = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) out[i] = i > 0 && times[i] <= out[i - 1] ? out[i - 1] + 1 : times[i];
  return out;
}

/** The context of an offline pipeline: nothing to log per window, no metrics. */
function replayContext(clock: ManualClock): ComponentContext {
  const log: Log = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => log };
  const events = new Proxy({} as Events, { get: () => () => undefined });
  return { id: 'evaluate', log, events, clock, signal: new AbortController().signal };
}
