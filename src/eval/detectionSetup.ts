// Detection settings (one benchmark config) -> the components the evaluate commands hand to the replay: the
// detector spec, the alert settings and a fresh per-stream score filter. The mapping mirrors the daemon's
// composition (app/detection.ts, app/bindings.ts) field for field.
import { detectorSpec } from '../app/detection';
import type { AlertingConfig, CalibrationConfig, DetectionConfig } from '../config/schema';
import { AnomalyLikelihood } from '../core/anomalyLikelihood';
import type { StreamScoreFilter } from '../core/scoreFilter';
import type { StreamSpec } from '../core/types';
import type { DetectorSpec } from '../model/fitDetector';
import type { AlertSettings } from './streamReplay';

export function benchmarkDetectorSpec(d: DetectionConfig, name: string, stream: StreamSpec, backend: string, version: string): DetectorSpec {
  return { ...detectorSpec(d, name, stream, backend, version), transform: d.training.input_transform };
}

export function alertSettings(a: AlertingConfig): AlertSettings {
  return {
    k: a.k,
    n: a.n,
    resetWindows: a.reset_windows,
    resetRatio: a.reset_ratio,
    keepFiringForMs: a.keep_firing_for_ms,
    severityCriticalPValue: a.severity_critical_p_value,
    insufficientWindows: a.insufficient_windows,
    flapMaxStarts: a.flap_max_starts,
    flapPeriodMs: a.flap_period_ms,
    flapQuietMs: a.flap_quiet_ms,
    topChannels: a.top_channels,
  };
}

/** A new filter for one stream, or undefined when the config enables none. */
export function newScoreFilter(c: CalibrationConfig): StreamScoreFilter | undefined {
  const l = c.likelihood;
  if (!l.enabled) return undefined;
  return new AnomalyLikelihood({
    averageWindows: l.average_windows,
    historyWindows: l.history_windows,
    learningWindows: l.learning_windows,
    threshold: l.threshold,
    suppressWindows: l.suppress_windows,
  });
}
