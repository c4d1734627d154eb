// An ensemble of small autoencoders for one stream: the same architecture trained from different seeds (weight
// initialisation, shuffling, noise) on the same windows, scoring a window by the mean of their reconstruction
// errors. With a few hundred learning windows one network's error depends on its seed enough to move a
// benchmark by ten points (NAB: 52.8 to 63.3 standard over seeds 1-5); the mean of a few is steadier, and
// the threshold is calibrated on that mean. To the pipeline it is one Detector (denoise and latent are the
// first member's).
import { calibrate } from '../core/calibration';
import type { ScoredWindow } from '../core/scoringModel';
import type { Window } from '../core/types';
import { Detector } from './detector';
import { trainDetector, type DetectorSpec, type TrainedDetector } from './fitDetector';
import type { EpochReport } from './train';

export class EnsembleDetector extends Detector {
  /**
   * @param members trained detectors of the same stream and architecture (the ensemble owns them)
   * @param calibrated the first member's manifest with the calibration of the ensemble's mean score
   */
  constructor(
    readonly members: readonly Detector[],
    calibrated: Detector['manifest'],
  ) {
    if (members.length === 0) throw new RangeError('ensemble: needs at least one member');
    super(members[0].model, calibrated, members[0].dir);
  }

  override score(windows: readonly Window[], withExpected = false): ScoredWindow[] {
    if (windows.length === 0) return [];
    const each = this.members.map((m) => m.score(windows, withExpected));
    // The members scale the same windows with scalers fitted on the same data: the first one's clipping counts.
    this.clippedValues = this.members[0].clippedValues;
    this.scaledValues = this.members[0].scaledValues;
    const k = this.members.length;
    return windows.map((w, i) => {
      let score = 0;
      const channelShares = new Float32Array(each[0][i].channelShares.length);
      // Their mean expectation, as reconstructionOf: the transform is undone linearly, so the mean of the members'
      // expectations is the expectation of their mean reconstruction.
      const expected = withExpected ? new Float32Array(w.values.length) : undefined;
      for (const scored of each) {
        score += scored[i].score / k;
        scored[i].channelShares.forEach((s, c) => (channelShares[c] += s / k));
        scored[i].expected?.forEach((v, j) => ((expected as Float32Array)[j] += v / k));
      }
      // Each member's score already carries the window's rhythm (the same factor for all): their mean does too.
      return this.judged(w, score, channelShares, expected, true);
    });
  }

  /** The members' mean reconstruction: the ensemble scores the mean of their errors, so it expects their mean. */
  override reconstructionOf(window: Window): Float32Array {
    const out = this.members[0].reconstructionOf(window);
    for (let m = 1; m < this.members.length; m++) {
      const r = this.members[m].reconstructionOf(window);
      for (let i = 0; i < out.length; i++) out[i] += r[i];
    }
    for (let i = 0; i < out.length; i++) out[i] /= this.members.length;
    return out;
  }

  override dispose(): void {
    for (const m of this.members) m.dispose();
  }
}

/**
 * Trains `size` detectors from seeds spec.train.seed, +1, ... and calibrates their mean score on the
 * learning windows. Size 1 is exactly trainDetector.
 */
export async function trainEnsemble(windows: readonly Window[], spec: DetectorSpec, size: number, onEpoch?: (r: EpochReport) => void): Promise<TrainedDetector> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`ensemble: size must be an integer >= 1 (got ${size})`);
  if (size === 1) return trainDetector(windows, spec, onEpoch);
  const members: TrainedDetector[] = [];
  try {
    for (let i = 0; i < size; i++) {
      members.push(await trainDetector(windows, { ...spec, calibration: null, train: { ...spec.train, seed: spec.train.seed + i } }, onEpoch));
    }
  } catch (err) {
    for (const m of members) m.detector.dispose();
    throw err;
  }
  const cleanScores = members[0].cleanScores.map((_, i) => members.reduce((a, m) => a + m.cleanScores[i], 0) / size);
  const manifest = members[0].detector.manifest;
  const calibrated = spec.calibration ? { ...manifest, calibration: calibrate(cleanScores, spec.calibration), calibratedAt: new Date().toISOString() } : manifest;
  return { detector: new EnsembleDetector(members.map((m) => m.detector), calibrated), history: members[0].history, cleanScores };
}
