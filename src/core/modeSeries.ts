// The windows of a recorded series that the daemon would cut in one operating mode (`train`/`calibrate
// --mode`): each sample is classified as the daemon classifies it (same conditions, same hysteresis), a change
// of mode restarts the window, and only windows wholly in the wanted mode are kept.
import type { StreamSpec, WindowEvent } from './types';
import { ModeTracker } from './modeTracker';
import { WindowBuffer, windowsFromSeries, type WindowOptions } from './window';

export interface SeriesMode {
  /** The mode a sample's values show (the stream's `when` conditions, then its default). */
  readonly classify: (values: ArrayLike<number>) => string;
  /** hold_samples of the stream's modes. */
  readonly hold: number;
  /** The mode whose windows are kept. */
  readonly keep: string;
}

/** windowsFromSeries, restricted to the windows in `mode` when one is given. */
export function windowsFromSeriesIn(stream: StreamSpec, ts: Float64Array, values: Float32Array, opts: WindowOptions, mode?: SeriesMode): WindowEvent[] {
  if (!mode) return windowsFromSeries(stream, ts, values, opts);
  const channels = stream.channels.length;
  const tracker = new ModeTracker(mode.hold);
  const buffer = new WindowBuffer(stream, opts);
  const out: WindowEvent[] = [];
  for (let r = 0; r < ts.length; r++) {
    const row = values.subarray(r * channels, (r + 1) * channels);
    if (tracker.observe(mode.classify(row)) !== null) buffer.reset();
    if (tracker.current !== mode.keep) continue;
    for (const e of buffer.push({ ts: ts[r], values: row })) out.push(e);
  }
  return out;
}
