// What a scale wrapper around a stream's likelihood filter shares: everything but `filter` is the inner
// filter's, because a scale's history lives in the inner filter (at the scale's slot) and the wrapper itself
// keeps nothing that a checkpoint or a delta would have to carry.
import type { ScoreFilterDelta, ScoreFilterMark, ScoreFilterState, ScoreObservation, StreamScoreFilter } from '../core/scoreFilter';

export abstract class ScaleFilterBase implements StreamScoreFilter {
  constructor(protected readonly inner: StreamScoreFilter) {}

  abstract filter(o: ScoreObservation): ScoreObservation;

  seedRange(lo: readonly number[], hi: readonly number[]): void {
    this.inner.seedRange?.(lo, hi);
  }

  snapshot(): ScoreFilterState | undefined {
    return this.inner.snapshot?.();
  }

  get revision(): number | undefined {
    return this.inner.revision;
  }

  restore(state: ScoreFilterState): void {
    this.inner.restore?.(state);
  }

  mark(): ScoreFilterMark | undefined {
    return this.inner.mark?.();
  }

  changesSince(mark: ScoreFilterMark): ScoreFilterDelta | undefined {
    return this.inner.changesSince?.(mark);
  }
}
