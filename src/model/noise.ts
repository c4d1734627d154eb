// Input corruption for denoising training: the network sees a corrupted window and must reproduce the clean
// one, which forces it to learn the structure of normal signals instead of copying its input. Done in plain JS
// with the seeded RNG so a training run is reproducible from its seed.
import { gaussian, type Rng } from '../core/random';

export interface NoiseOptions {
  /** Standard deviation of additive gaussian noise, in scaled units ([0, 1] range). */
  readonly gaussianSigma: number;
  /** Fraction of values set to 0 (masking noise). */
  readonly maskFraction: number;
  /** Fraction of values set to 0 or 1 at random (salt-and-pepper noise). */
  readonly saltPepperFraction: number;
}

export const NO_NOISE: NoiseOptions = { gaussianSigma: 0, maskFraction: 0, saltPepperFraction: 0 };

/** Write a corrupted copy of `clean` into `out`, clipped to [0, 1]. */
export function corrupt(clean: Float32Array, opts: NoiseOptions, rng: Rng, out: Float32Array): void {
  const { gaussianSigma, maskFraction, saltPepperFraction } = opts;
  for (let i = 0; i < clean.length; i++) {
    let v = clean[i];
    if (gaussianSigma > 0) v += gaussianSigma * gaussian(rng);
    if (maskFraction > 0 && rng() < maskFraction) v = 0;
    if (saltPepperFraction > 0 && rng() < saltPepperFraction) v = rng() < 0.5 ? 0 : 1;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
