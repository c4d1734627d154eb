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

/**
 * A pump-like recording as a CSV file's text: an ISO timestamp, vib_rms and current_a at 1 Hz from 2026-01-01,
 * reproducible from `seed`; from row `faultAt` on (if given) vib_rms steps up by 4, about 60 noise sigmas.
 */
export function vibCurrentCsv(rows: number, seed: number, faultAt?: number): string {
  const rng = createRng(seed);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const lines = ['timestamp,vib_rms,current_a'];
  for (let r = 0; r < rows; r++) {
    const fault = faultAt !== undefined && r >= faultAt ? 4 : 0;
    const vib = 2 + Math.sin((2 * Math.PI * r) / 20) + 0.05 * gaussian(rng) + fault;
    const cur = 10 + 2 * Math.cos((2 * Math.PI * r) / 20) + 0.05 * gaussian(rng);
    lines.push(`${new Date(t0 + r * 1000).toISOString()},${vib.toFixed(4)},${cur.toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

/** A copy of a window with a fault in one channel: a step of `amount` over its second half. */
export function withFault(w: Window, channel: number, amount: number): Window {
  const values = Float32Array.from(w.values);
  for (let t = Math.floor(w.size / 2); t < w.size; t++) values[t * w.channels + channel] += amount;
  return { ...w, values };
}

const DAY_MS = 86_400_000;

/**
 * The latest instant at least `agoMs` before now whose UTC time of day is `hourUtc`:00. The pump simulator's
 * temperature follows a daily cycle of absolute time, so a test epoch of "now minus six hours" gives a different
 * signal (and a differently trained model) at each hour the suite runs; this one gives the same signal every
 * run, still recent enough for the services the test talks to.
 */
export function recentAtHourUtc(agoMs: number, hourUtc: number): number {
  const latest = Date.now() - agoMs;
  const candidate = Math.floor(latest / DAY_MS) * DAY_MS + hourUtc * 3600_000;
  return candidate <= latest ? candidate : candidate - DAY_MS;
}
