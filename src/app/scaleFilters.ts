// The extra scales a stream's likelihood filter hears besides its model's own score: the coarse time scale
// (calibration.likelihood.coarse_pool, model/coarseScale.ts) and the transformed scale (transform_scale,
// model/transformScale.ts). One function for the daemon's bindings, `replay` and `evaluate`, so the three
// judge a window through the same scales in the same order.
import type { DetectionConfig } from '../config/schema';
import type { StreamScoreFilter } from '../core/scoreFilter';
import { CoarseScaleFilter } from '../model/coarseScale';
import type { LearnedScales } from '../model/learnedModel';
import { PeriodBaselineFilter, periodLag } from '../model/periodBaseline';
import { TransformScaleFilter } from '../model/transformScale';
import { scoreFilterKind } from './detection';

/**
 * `filter` wrapped with the scales `detection` asks for, or `filter` itself (none asked for, or the filter is
 * not the likelihood: SPOT judges the model's own score). `scales` is asked per window, so a model learned (or
 * learned again) later joins without a new filter; until it has a scale, windows pass without it.
 */
export function withScales(
  filter: StreamScoreFilter | undefined,
  detection: DetectionConfig,
  scales: () => LearnedScales | undefined,
  shape: { readonly stream: string; readonly channels: number; readonly size: number; readonly hop: number },
): StreamScoreFilter | undefined {
  if (!filter || scoreFilterKind(detection.calibration) !== 'likelihood') return filter;
  const { coarse_pool: pool, transform_scale: transform, period_baseline: baseline } = detection.calibration.likelihood;
  const { stream, channels, size, hop } = shape;
  let out = filter;
  // Innermost, so it sees the other scales' scores too (each wrapper adds its scale on the way in).
  if (baseline) out = new PeriodBaselineFilter(out, () => periodLag(scales()?.period, size, hop));
  if (transform !== 'none') out = new TransformScaleFilter(out, () => scales()?.transformed, { stream, size });
  if (pool >= 2) out = new CoarseScaleFilter(out, () => scales()?.coarse, { stream, pool, size, hop, channels });
  return out;
}
