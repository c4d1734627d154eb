// Input corruption for denoising training: the network sees a corrupted window and must reproduce the clean
// one, which forces it to learn the structure of normal signals instead of copying its input. Done in plain JS
// with the seeded RNG so a training run is reproducible from its seed.
import type { Rng } from '../core/random';

export interface NoiseOptions {
  /** Standard deviation of additive gaussian noise, in scaled units ([0, 1] range). */
  readonly gaussianSigma: number;
  /** Fraction of values set to 0 (masking noise). */
  readonly maskFraction: number;
  /** Fraction of values set to 0 or 1 at random (salt-and-pepper noise). */
  readonly saltPepperFraction: number;
}

export const NO_NOISE: NoiseOptions = { gaussianSigma: 0, maskFraction: 0, saltPepperFraction: 0 };

/**
 * Write a corrupted copy of `clean` into `out`, clipped to [0, 1]. Gaussian deviates come in pairs from
 * Marsaglia's polar method (no trigonometry, both values used): this loop runs over every value of every epoch
 * and was the largest cost of a training epoch once the network itself ran natively.
 */
export function corrupt(clean: Float32Array, opts: NoiseOptions, rng: Rng, out: Float32Array): void {
  const { gaussianSigma, maskFraction, saltPepperFraction } = opts;
  let spare = 0;
  let haveSpare = false;
  for (let i = 0; i < clean.length; i++) {
    let v = clean[i];
    if (gaussianSigma > 0) {
      if (haveSpare) {
        v += gaussianSigma * spare;
        haveSpare = false;
      } else {
        let a: number;
        let b: number;
        let s: number;
        do {
          a = 2 * rng() - 1;
          b = 2 * rng() - 1;
          s = a * a + b * b;
        } while (s >= 1 || s === 0);
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        v += gaussianSigma * a * f;
        spare = b * f;
        haveSpare = true;
      }
    }
    if (maskFraction > 0 && rng() < maskFraction) v = 0;
    if (saltPepperFraction > 0 && rng() < saltPepperFraction) v = rng() < 0.5 ? 0 : 1;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
