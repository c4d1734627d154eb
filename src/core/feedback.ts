// Operator feedback on alert episodes: an operator who walked to the machine says whether an alert was right
// (`true_positive`) or not (`false_positive`), with a note. A label belongs to one episode (fingerprint and start
// time: the same alert firing again next week is another episode); labelling it again replaces the label. The
// labels feed learning (a false positive's period is training data for the next model, a true positive's stays
// out) and give each stream's precision over the recent labelled episodes. Clock-free: callers pass the time.

export const FEEDBACK_LABELS = ['false_positive', 'true_positive'] as const;
export type FeedbackLabel = (typeof FEEDBACK_LABELS)[number];

export interface AlertFeedback {
  readonly fingerprint: string;
  readonly stream: string;
  /** The alert kind (anomaly, ingestion_stalled, ...). */
  readonly kind: string;
  /** The episode's start and end (ms; null while it fires). */
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly label: FeedbackLabel;
  readonly note: string;
  /** Who labelled it (the token's name). */
  readonly who: string;
  /** When it was labelled (ms). */
  readonly at: number;
}

/** One stream's labelled episodes over a period, and the share of them that were right (null: none labelled). */
export interface StreamPrecision {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly precision: number | null;
}

export const DEFAULT_MAX_FEEDBACK = 10_000;
export const PRECISION_PERIOD_MS = 30 * 86_400_000;

export function isFeedbackLabel(v: unknown): v is FeedbackLabel {
  return typeof v === 'string' && (FEEDBACK_LABELS as readonly string[]).includes(v);
}

export function episodeKey(fingerprint: string, startsAt: number): string {
  return `${fingerprint}@${startsAt}`;
}

/** The labels given, one per episode, at most `max` (the oldest episodes' labels go first). */
export class FeedbackBook {
  private readonly byEpisode = new Map<string, AlertFeedback>();
  private changeCount = 0;

  constructor(private readonly max = DEFAULT_MAX_FEEDBACK) {}

  /** Increases with every change: a saver writes when it differs from what it wrote last. */
  get changes(): number {
    return this.changeCount;
  }

  get size(): number {
    return this.byEpisode.size;
  }

  /** Labels an episode (replacing an earlier label of it); returns the label it replaced, if any. */
  set(f: AlertFeedback): AlertFeedback | undefined {
    const key = episodeKey(f.fingerprint, f.startsAt);
    const previous = this.byEpisode.get(key);
    this.byEpisode.delete(key);
    this.byEpisode.set(key, f);
    this.changeCount++;
    if (this.byEpisode.size > this.max) {
      // The episode that started first goes (labels are set in any order; the map keeps insertion order).
      let oldest: string | undefined;
      let oldestStart = Infinity;
      for (const [k, v] of this.byEpisode) {
        if (v.startsAt < oldestStart) {
          oldestStart = v.startsAt;
          oldest = k;
        }
      }
      if (oldest !== undefined) this.byEpisode.delete(oldest);
    }
    return previous;
  }

  get(fingerprint: string, startsAt: number): AlertFeedback | undefined {
    return this.byEpisode.get(episodeKey(fingerprint, startsAt));
  }

  /** Newest episode first. */
  list(): AlertFeedback[] {
    return [...this.byEpisode.values()].sort((a, b) => b.startsAt - a.startsAt || b.at - a.at);
  }

  /** Each stream's precision over the episodes that started within `periodMs` before `now`. */
  precision(now: number, periodMs = PRECISION_PERIOD_MS): Map<string, StreamPrecision> {
    const counts = new Map<string, { tp: number; fp: number }>();
    for (const f of this.byEpisode.values()) {
      if (f.startsAt < now - periodMs || f.startsAt > now) continue;
      const c = counts.get(f.stream) ?? { tp: 0, fp: 0 };
      if (f.label === 'true_positive') c.tp++;
      else c.fp++;
      counts.set(f.stream, c);
    }
    const out = new Map<string, StreamPrecision>();
    for (const [stream, c] of counts) out.set(stream, { truePositives: c.tp, falsePositives: c.fp, precision: c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : null });
    return out;
  }
}

/** A saved label read back, or null when it is not one. */
export function reviveFeedback(v: unknown): AlertFeedback | null {
  if (typeof v !== 'object' || v === null) return null;
  const f = v as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const str = (x: unknown): x is string => typeof x === 'string';
  if (!str(f['fingerprint']) || !str(f['stream']) || !str(f['kind']) || !num(f['startsAt']) || !(f['endsAt'] === null || num(f['endsAt']))) return null;
  if (!isFeedbackLabel(f['label']) || !str(f['note']) || !str(f['who']) || !num(f['at'])) return null;
  return {
    fingerprint: f['fingerprint'], stream: f['stream'], kind: f['kind'], startsAt: f['startsAt'], endsAt: f['endsAt'],
    label: f['label'], note: f['note'], who: f['who'], at: f['at'],
  };
}
