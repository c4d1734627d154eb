// Stateless randomness for the simulator: every value is a hash of (seed, keys), so a signal at time t is the same
// whether it is generated in one call or many, in-process or by `anomalyd simulate`. That is what lets the demo
// models be trained on exactly the signal the simulator later publishes.

/** A 32-bit avalanche mix (lowbias32 by Chris Wellons). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a seed and up to three integer keys (any safe integer: the high bits are mixed in too). */
export function hash(seed: number, a = 0, b = 0, c = 0): number {
  let h = mix(seed ^ 0x9e3779b9);
  h = mixKey(h, a);
  h = mixKey(h, b);
  return mixKey(h, c);
}

function mixKey(h: number, k: number): number {
  return mix(mix(h ^ (k >>> 0)) ^ Math.floor(k / 4294967296));
}

/** Uniform in [0, 1). */
export function uniformAt(seed: number, a = 0, b = 0, c = 0): number {
  return hash(seed, a, b, c) / 4294967296;
}

/** Standard normal deviate (Box-Muller over two hashes). */
export function gaussianAt(seed: number, a = 0, b = 0, c = 0): number {
  const u = (hash(seed, a, b, c) + 1) / 4294967297;
  const v = hash(seed ^ 0x5bd1e995, a, b, c) / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Smooth noise in [-1, 1]: random knots at integer x, cosine-interpolated between them. */
export function valueNoise(seed: number, x: number): number {
  const k = Math.floor(x);
  const f = x - k;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  const a = 2 * uniformAt(seed, k) - 1;
  const b = 2 * uniformAt(seed, k + 1) - 1;
  return a + (b - a) * w;
}
