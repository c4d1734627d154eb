// The readings of one scored window for an alert (see core/channelReading.ts): the model's reconstruction of the
// window is computed on the first channel asked for and kept for the others, so a window that makes no notice
// costs nothing, and one that does costs one forward pass.
import type { ChannelReading } from '../core/alert';
import { channelReading, type TrainingRange } from '../core/channelReading';
import type { WindowReadingsOf } from '../core/scoringModel';
import type { Window } from '../core/types';
import type { WindowTransform } from '../core/windowTransform';
import type { Manifest } from './manifest';

/** What the readings need of a detector (detector.ts): its manifest and a second look at a window. */
export interface Reconstructs {
  readonly manifest: Manifest;
  reconstructionOf(window: Window): Float32Array;
}

export class WindowReadings implements WindowReadingsOf {
  private reconstruction: Float32Array | undefined;

  constructor(
    private readonly detector: Reconstructs,
    private readonly window: Window,
  ) {}

  /** Channel `c` (the model's channel order), or undefined when it cannot be computed (the alert goes out without it). */
  of(c: number): ChannelReading | undefined {
    const m = this.detector.manifest;
    try {
      this.reconstruction ??= this.detector.reconstructionOf(this.window);
      return channelReading(transformOf(m, c), this.window.values, this.reconstruction, m.channels.length, c, trainingRange(m, c), m.levelBounds);
    } catch {
      // A window the model scored a moment ago reconstructs; should the engine fail now, the page matters more.
      return undefined;
    }
  }
}

export function transformOf(m: Manifest, c: number): WindowTransform {
  const t = m.transform ?? 'none';
  return typeof t === 'string' ? t : (t[c] ?? 'none');
}

/**
 * Channel `c`'s range in the training data, raw units. The manifest's channel summary holds it as measured; a
 * manifest without one (written by hand or by an early version) still has the scaler, whose range is the training
 * range widened by `margin` on each side, so that is undone (for an untransformed channel only: a transformed
 * channel's scaler covers the transformed values, not the readings).
 */
export function trainingRange(m: Manifest, c: number): TrainingRange {
  const summary = (m.training as Partial<Manifest['training']> | undefined)?.channelSummary?.find((s) => s.name === m.channels[c]);
  if (summary && Number.isFinite(summary.min) && Number.isFinite(summary.max)) return { min: summary.min, max: summary.max };
  if (transformOf(m, c) !== 'none') return { min: NaN, max: NaN };
  return scalerRange(m.scaler.min[c], m.scaler.max[c], m.scaler.margin ?? 0);
}

/** The range a scaler was fitted on, from its stored (widened) bounds: stored = fitted ± margin x fitted range. */
export function scalerRange(min: number, max: number, margin: number): TrainingRange {
  const fitted = (max - min) / (1 + 2 * margin);
  return { min: min + margin * fitted, max: max - margin * fitted };
}
