// A coarse view of a stream: the last `size * pool` time steps mean-pooled in blocks of `pool`, so a window of
// `size` pooled steps spans `pool` times the context of a raw window of the same size (a day of 5-minute
// samples in 32 steps at pool 9). Fed one time step at a time; a pooled window exists once enough steps are in.
import type { Window } from './types';

export class PooledSteps {
  private readonly ring: Float32Array;
  private readonly span: number;
  private next = 0;
  private count = 0;

  /**
   * @param pool raw steps averaged into one pooled step
   * @param size pooled steps per window
   * @param channels values per step
   */
  constructor(
    readonly pool: number,
    readonly size: number,
    readonly channels: number,
  ) {
    for (const [name, v] of [['pool', pool], ['size', size], ['channels', channels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`pooled steps: ${name} must be an integer >= 1 (got ${v})`);
    }
    this.span = pool * size;
    this.ring = new Float32Array(this.span * channels);
  }

  /** Steps pushed so far (saturating at the span a window needs). */
  get steps(): number {
    return this.count;
  }

  /** Appends `values.length / channels` time steps (time-major, `channels` values per step). */
  push(values: ArrayLike<number>, from = 0, to = values.length): void {
    const c = this.channels;
    if ((to - from) % c !== 0) throw new RangeError(`pooled steps: ${to - from} values are not ${c}-channel steps`);
    for (let i = from; i < to; i += c) {
      for (let ch = 0; ch < c; ch++) this.ring[this.next * c + ch] = values[i + ch];
      this.next = (this.next + 1) % this.span;
      if (this.count < this.span) this.count++;
    }
  }

  /**
   * A view of the same stream pooled by `pool`, holding the newest of this one's steps that fit its span: a coarse
   * model that pools otherwise than configured (its pool chosen from the stream's period) re-cuts the view instead
   * of waiting for it to refill. With a longer span it has fewer steps than it needs until more are pushed.
   */
  repooled(pool: number): PooledSteps {
    const out = new PooledSteps(pool, this.size, this.channels);
    const c = this.channels;
    const keep = Math.min(this.count, out.span);
    // The ring's newest step is just before `next`; copy the newest `keep` steps oldest first.
    for (let k = keep; k > 0; k--) {
      const step = (this.next - k + this.span) % this.span;
      out.push(this.ring.subarray(step * c, (step + 1) * c));
    }
    return out;
  }

  /** The pooled window of the last `size * pool` steps, oldest first, time-major; undefined until that many were pushed. */
  window(): Float32Array | undefined {
    if (this.count < this.span) return undefined;
    const c = this.channels;
    const out = new Float32Array(this.size * c);
    // The ring's oldest step is at `next` once it is full.
    for (let k = 0; k < this.size; k++) {
      for (let j = 0; j < this.pool; j++) {
        const step = (this.next + k * this.pool + j) % this.span;
        for (let ch = 0; ch < c; ch++) out[k * c + ch] += this.ring[step * c + ch];
      }
      for (let ch = 0; ch < c; ch++) out[k * c + ch] /= this.pool;
    }
    return out;
  }
}

/**
 * The pooled windows of a run of consecutive steps (time-major, `channels` per step), one ending at every
 * `stride`-th step once `size * pool` steps are in: what a coarse-scale model learns from. Windows holding a
 * missing (non-finite) value are left out. `times` (one per step) gives each window's start and end.
 */
export function pooledWindows(
  stream: string,
  times: ArrayLike<number>,
  steps: ArrayLike<number>,
  channels: number,
  pool: number,
  size: number,
  stride = 1,
): Window[] {
  const pooled = new PooledSteps(pool, size, channels);
  const n = times.length;
  if (steps.length !== n * channels) throw new RangeError(`pooled windows: ${n} steps x ${channels} channels needs ${n * channels} values (got ${steps.length})`);
  const out: Window[] = [];
  for (let t = 0; t < n; t++) {
    pooled.push(steps, t * channels, (t + 1) * channels);
    if ((t + 1) % stride !== 0) continue;
    const values = pooled.window();
    if (!values || !values.every(Number.isFinite)) continue;
    out.push({ stream, start: times[Math.max(0, t - pool * size + 1)], end: times[t], size, channels, values, completeness: 1 });
  }
  return out;
}

/**
 * The raw steps of consecutive windows of a stream with the given hop (hop <= size): the first window whole,
 * then the last `hop` steps of each later one. What auto-learning collects is windows; the coarse model
 * learns from the steps under them.
 */
export function stepsOfWindows(windows: readonly Window[], hop: number): { times: Float64Array; steps: Float32Array } {
  if (windows.length === 0) return { times: new Float64Array(0), steps: new Float32Array(0) };
  const { size, channels } = windows[0];
  const fresh = Math.min(hop, size);
  const n = size + (windows.length - 1) * fresh;
  const times = new Float64Array(n);
  const steps = new Float32Array(n * channels);
  let t = 0;
  windows.forEach((w, i) => {
    const from = i === 0 ? 0 : size - fresh;
    // Step times are spread evenly over the window: windows carry only their start and end.
    const dt = size > 1 ? (w.end - w.start) / (size - 1) : 0;
    for (let k = from; k < size; k++, t++) {
      times[t] = w.start + k * dt;
      steps.set(w.values.subarray(k * channels, (k + 1) * channels), t * channels);
    }
  });
  return { times, steps };
}
