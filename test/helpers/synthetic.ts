// Synthetic signals for tests: reproducible from a seed, no files needed (tests must pass without ../shared).
import { createRng, gaussian } from '../../src/core/random';
import type { Window } from '../../src/core/types';

/** Noisy sine windows of one or more channels (phase-shifted per channel), raw units around 10 +- 3. */
export function sineWindows(n: number, size: number, channels: number, seed: number, noise = 0.05): Window[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const phase = rng() * 2 * Math.PI;
    const values = new Float32Array(size * channels);
    for (let t = 0; t < size; t++) {
      for (let c = 0; c < channels; c++) {
        values[t * channels + c] = 10 + 3 * Math.sin(phase + (2 * Math.PI * t) / 16 + c) + noise * gaussian(rng);
      }
    }
    return { stream: 's', start: i * 1000, end: i * 1000 + size - 1, size, channels, values, completeness: 1 };
  });
}

/** A copy of a window with a fault in one channel: a step of `amount` over its second half. */
export function withFault(w: Window, channel: number, amount: number): Window {
  const values = Float32Array.from(w.values);
  for (let t = Math.floor(w.size / 2); t < w.size; t++) values[t * w.channels + channel] += amount;
  return { ...w, values };
}
