// A scored window's per-channel error shares in the two forms downstream wants: a record by channel name for the
// sinks (ScorePoint.channelShares) and a list for the alert state machine. This runs once per window (tens of
// thousands a second at full load), and building both the obvious way (a keyed store per channel into an empty
// object, a sorted list of objects) was most of the pipeline's per-window time in the ingest profile.
import type { ChannelReading, ChannelShare } from '../core/alert';
import type { ScoringModel, WindowReadingsOf } from '../core/scoringModel';
import type { Window } from '../core/types';

/**
 * Per channel list, an object with every channel as a property, to be copied: a copy of an object keeps its
 * shape, so filling it sets existing properties instead of growing a new object key by key. The properties are
 * in name order, the order the InfluxDB line protocol wants fields in (sinks/influx/line.ts then need not sort).
 */
const templates = new WeakMap<readonly string[], Record<string, number>>();

/** `{ [channel]: share }`, properties in channel name order. */
export function shareRecord(channels: readonly string[], shares: ArrayLike<number>): Record<string, number> {
  let template = templates.get(channels);
  if (template === undefined) {
    // Not frozen: a copy of a frozen object does not take the fast path. Only this module sees it.
    template = {};
    for (const c of [...channels].sort()) template[c] = 0;
    templates.set(channels, template);
  }
  const out: Record<string, number> = { ...template };
  for (let i = 0; i < channels.length; i++) out[channels[i]] = shares[i];
  return out;
}

/**
 * What the alert state machine observes of a scored window. The channel list is built only when read: the
 * machine reads it for a notice only (a few per stream and day), and ranks it itself (topShares: largest share
 * first, channel order between equals), so it is handed over in channel order. The same holds for the readings
 * of the top channels (observed against expected values): they take a second forward pass of the window, paid for
 * by the windows that make a notice alone; a window that makes none only carries two more references.
 */
export class ScoredObservation {
  private readings: WindowReadingsOf | undefined;

  constructor(
    readonly time: number,
    readonly score: number,
    readonly threshold: number,
    readonly pValue: number,
    readonly anomalous: boolean,
    private readonly channels: readonly string[],
    private readonly shares: ArrayLike<number>,
    private readonly detector: ScoringModel,
    private readonly window: Window,
  ) {}

  readingOf(index: number): ChannelReading | undefined {
    this.readings ??= this.detector.readings(this.window);
    return this.readings.of(index);
  }

  get channelShares(): ChannelShare[] {
    const out: ChannelShare[] = [];
    for (let i = 0; i < this.channels.length; i++) out.push({ channel: this.channels[i], share: this.shares[i] });
    return out;
  }
}
