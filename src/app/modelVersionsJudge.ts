// The judge of a shadow model: over its shadow period, would it have paged about as often as the live model,
// and does it agree with what operators said about the live model's alerts? Two measures, both over the same
// period and the same streams, so the live model's episodes are the yardstick:
// - the alert rate ratio: the shadow's would-be anomaly episodes over the live model's (at least one, so a quiet
//   live model and a shadow with a single would-be alert give 1, not infinity);
// - the label agreement: among the labelled episodes of the period (core/feedback.ts), a false_positive the
//   shadow did NOT alert on during the episode agrees, a true_positive it did alert on agrees.
// Verdict: `wait` until the shadow ran minShadowMs and scored a window; then `promote` when both measures are
// within their bounds (no labelled episode in the period: agreement is not held against it), else `reject`.
// Pure: the caller passes the time and what the shadow lane counted.
import type { AlertFeedback } from '../core/feedback';

export interface JudgeBounds {
  /** The shadow's would-be episodes over the live model's, at most. */
  readonly maxAlertRateRatio: number;
  /** The share of labelled episodes the shadow agrees with, at least (0..1). */
  readonly minLabelAgreement: number;
  /** How long the shadow must have run before a verdict other than `wait`. */
  readonly minShadowMs: number;
}

/** A would-be (shadow) or real (live) anomaly episode of one stream. */
export interface EpisodeSpan {
  readonly stream: string;
  readonly start: number;
  /** Null while it fires. */
  readonly end: number | null;
}

/** What the shadow lane counted since `since`. */
export interface ShadowRecord {
  readonly model: string;
  readonly version: string;
  readonly since: number;
  readonly windows: number;
  readonly streams: ReadonlySet<string>;
  readonly episodes: readonly EpisodeSpan[];
  /** The live model's anomaly episodes that started in the same period on the same streams. */
  readonly liveEpisodes: number;
}

export interface ShadowVerdict {
  readonly model: string;
  readonly version: string;
  readonly verdict: 'promote' | 'wait' | 'reject';
  /** Why, in a sentence an operator reads. */
  readonly reason: string;
  /** How long the shadow has run (ms). */
  readonly shadowMs: number;
  readonly windows: number;
  readonly shadowEpisodes: number;
  readonly liveEpisodes: number;
  /** shadowEpisodes / max(liveEpisodes, 1). */
  readonly alertRateRatio: number;
  /** Labelled episodes of the period on the shadow's streams, and how many the shadow agrees with. */
  readonly labelled: number;
  readonly agreed: number;
  /** agreed / labelled; null with no labelled episode. */
  readonly labelAgreement: number | null;
}

export function judgeShadow(shadow: ShadowRecord, labels: readonly AlertFeedback[], bounds: JudgeBounds, now: number): ShadowVerdict {
  const shadowMs = Math.max(0, now - shadow.since);
  const alertRateRatio = shadow.episodes.length / Math.max(shadow.liveEpisodes, 1);
  const relevant = labels.filter((l) => l.kind === 'anomaly' && shadow.streams.has(l.stream) && l.startsAt >= shadow.since && l.startsAt <= now);
  const agreed = relevant.filter((l) => {
    const end = l.endsAt ?? now;
    const alerted = shadow.episodes.some((e) => e.stream === l.stream && e.start <= end && (e.end ?? now) >= l.startsAt);
    return l.label === 'true_positive' ? alerted : !alerted;
  }).length;
  const labelAgreement = relevant.length > 0 ? agreed / relevant.length : null;
  const base = {
    model: shadow.model, version: shadow.version, shadowMs, windows: shadow.windows, shadowEpisodes: shadow.episodes.length, liveEpisodes: shadow.liveEpisodes,
    alertRateRatio, labelled: relevant.length, agreed, labelAgreement,
  };
  const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`;
  if (shadowMs < bounds.minShadowMs) return { ...base, verdict: 'wait', reason: `in shadow for ${hours(shadowMs)} of the ${hours(bounds.minShadowMs)} required` };
  if (shadow.windows === 0) return { ...base, verdict: 'wait', reason: 'the shadow has scored no window yet' };
  const problems: string[] = [];
  if (alertRateRatio > bounds.maxAlertRateRatio) {
    problems.push(`it would have alerted ${shadow.episodes.length} time(s) against the live model's ${shadow.liveEpisodes} (ratio ${alertRateRatio.toFixed(2)} > ${bounds.maxAlertRateRatio})`);
  }
  if (labelAgreement !== null && labelAgreement < bounds.minLabelAgreement) {
    problems.push(`it agrees with ${agreed} of ${relevant.length} labelled episode(s) (${labelAgreement.toFixed(2)} < ${bounds.minLabelAgreement})`);
  }
  if (problems.length > 0) return { ...base, verdict: 'reject', reason: problems.join('; ') };
  const labelsSaid = labelAgreement === null ? 'no labelled episode in the period' : `agrees with ${agreed} of ${relevant.length} labelled episode(s)`;
  return { ...base, verdict: 'promote', reason: `alert rate ratio ${alertRateRatio.toFixed(2)} <= ${bounds.maxAlertRateRatio}; ${labelsSaid}` };
}
