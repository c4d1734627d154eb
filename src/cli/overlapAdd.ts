// Rebuilds a continuous denoised signal from overlapping window reconstructions: each sample is the mean of
// the reconstructions of every window that covers it. Windows that bridged a gap with filled steps do not map
// onto recorded rows one to one and are left out; rows no window covers stay NaN.
import type { Window } from '../core/types';

interface Series {
  readonly ts: Float64Array;
  readonly rows: number;
  readonly channels: readonly string[];
}

export function overlapAdd(series: Series, windows: readonly Window[], chunks: readonly Float32Array[], inputSize: number): Float32Array {
  const c = series.channels.length;
  const sum = new Float64Array(series.rows * c);
  const count = new Uint32Array(series.rows);
  let w = 0;
  for (const chunk of chunks) {
    for (let k = 0; k * inputSize < chunk.length; k++, w++) {
      const win = windows[w];
      const last = indexOf(series.ts, win.end);
      const first = last - win.size + 1;
      if (last < 0 || first < 0 || series.ts[first] !== win.start) continue;
      for (let t = 0; t < win.size; t++) {
        count[first + t]++;
        for (let ch = 0; ch < c; ch++) sum[(first + t) * c + ch] += chunk[k * inputSize + t * c + ch];
      }
    }
  }
  const out = new Float32Array(series.rows * c);
  for (let r = 0; r < series.rows; r++) {
    for (let ch = 0; ch < c; ch++) out[r * c + ch] = count[r] > 0 ? sum[r * c + ch] / count[r] : NaN;
  }
  return out;
}

/** Binary search for an exact timestamp in increasing times; -1 when absent. */
function indexOf(ts: Float64Array, value: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] === value) return mid;
    if (ts[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
