// The retraining metrics (docs/design.md, "Prometheus metrics"), registered on the daemon's registry beside the
// others: retrains by trigger and outcome, whether one runs and how many wait, each stream's drift share (its
// `stream` label bounded like every per-stream metric), and the bytes of the window record.
import { Counter, Gauge } from 'prom-client';
import type { Metrics } from './metrics';

export const RETRAIN_TRIGGERS = ['schedule', 'drift', 'operator'] as const;
export const RETRAIN_OUTCOMES = ['candidate', 'refused', 'failed'] as const;
export type RetrainTrigger = (typeof RETRAIN_TRIGGERS)[number];
export type RetrainOutcome = (typeof RETRAIN_OUTCOMES)[number];

export interface RetrainMetrics {
  retrained(trigger: RetrainTrigger, outcome: RetrainOutcome): void;
  /** The stream's latest drift share (a value in [0, 1]). */
  driftShare(stream: string, share: number): void;
  /** The stream is no longer watched: its drift series goes. */
  forget(stream: string): void;
}

export interface RetrainGauges {
  readonly running: () => number;
  readonly queued: () => number;
  readonly recordedBytes: () => number;
}

export function createRetrainMetrics(metrics: Metrics, gauges: RetrainGauges): RetrainMetrics {
  const registers = [metrics.registry];
  const retrains = new Counter<'trigger' | 'outcome'>({
    name: 'anomalyd_retrains_total',
    help: 'Retrains finished, by trigger (schedule, drift, operator) and outcome: candidate (a model handed on to shadow the live one), refused (too few clean windows), failed.',
    labelNames: ['trigger', 'outcome'],
    registers,
  });
  for (const trigger of RETRAIN_TRIGGERS) for (const outcome of RETRAIN_OUTCOMES) retrains.inc({ trigger, outcome }, 0);
  new Gauge({ name: 'anomalyd_retrain_running', help: '1 while a retrain trains (one at a time), else 0.', registers, collect() { this.set(gauges.running()); } });
  new Gauge({ name: 'anomalyd_retrain_queued', help: 'Retrains waiting for the one running.', registers, collect() { this.set(gauges.queued()); } });
  new Gauge({ name: 'anomalyd_retrain_recorded_bytes', help: 'Bytes of the window records (state_dir/retrain/windows) of the streams recorded since the start.', registers, collect() { this.set(gauges.recordedBytes()); } });
  const shares = new Map<string, number>();
  const drift = new Gauge<'stream'>({
    name: 'anomalyd_drift_share',
    help: "Share of the stream's windows over its drift period whose detector p-value was below 0.01 (1 % on the data the model was calibrated on); drift fires above retrain.drift.factor x 1 %.",
    labelNames: ['stream'],
    registers,
    collect() {
      this.reset();
      for (const [stream, value] of shares) this.set({ stream }, value);
    },
  });
  void drift;
  // The operator API counts its changes by action; this one's series exists from the first scrape too.
  metrics.operatorChanges.inc({ action: 'retrain' }, 0);
  return {
    retrained: (trigger, outcome) => retrains.inc({ trigger, outcome }),
    driftShare: (stream, share) => shares.set(metrics.streamLabel(stream), share),
    forget: (stream) => shares.delete(stream),
  };
}
