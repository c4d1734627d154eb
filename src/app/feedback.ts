// The daemon's side of operator feedback: an episode is looked up among the alert history the status page
// keeps (firing alerts and the last episodes: a label needs to know the episode's stream and kind), labelled in
// the FeedbackBook, saved (state/feedbackFile.ts) before the API answers, and written to InfluxDB
// (`anomaly_feedback`, at the episode's start, so `train --influx-query` can take a false positive's period back
// as training data) through `written`.
import type { AlertHistory } from '../core/alertHistory';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import { FeedbackBook, type AlertFeedback } from '../core/feedback';
import type { EventPoint } from '../core/sink';
import type { FeedbackFile } from '../state/feedbackFile';
import type { FeedbackActions, FeedbackJson, FeedbackRequest } from '../telemetry/operatorApi';

export interface FeedbackOptions {
  readonly file: FeedbackFile;
  readonly history: AlertHistory;
  readonly log: Log;
  readonly now: () => number;
  /** A label was given: its InfluxDB point. */
  readonly written?: (point: EventPoint) => void;
}

export class Feedback implements FeedbackActions {
  readonly book = new FeedbackBook();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly o: FeedbackOptions) {}

  async start(): Promise<void> {
    for (const f of await this.o.file.load()) this.book.set(f);
  }

  list(): FeedbackJson[] {
    return this.book.list().map(feedbackJson);
  }

  async label(fingerprint: string, request: FeedbackRequest, who: string): Promise<FeedbackJson | 'unknown'> {
    // Newest first: without a start, the alert's latest episode.
    const episode = this.o.history.list().find((e) => e.fingerprint === fingerprint && (request.startsAt === undefined || e.startsAt === request.startsAt));
    if (!episode) return 'unknown';
    const feedback: AlertFeedback = {
      fingerprint, stream: episode.stream, kind: episode.kind, startsAt: episode.startsAt, endsAt: episode.endsAt,
      label: request.label, note: request.note, who, at: this.o.now(),
    };
    this.book.set(feedback);
    await this.save();
    this.o.written?.(feedbackPoint(feedback));
    return feedbackJson(feedback);
  }

  private save(): Promise<void> {
    const labels = this.book.list();
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.o.file.save(labels))
      .catch((err: unknown) => {
        this.o.log.error('Cannot save the alert labels; the label is kept in memory until the next change saves it.', { file: this.o.file.file, error: errorMessage(err) });
        throw err;
      });
    return this.saving;
  }
}

/** The InfluxDB point of a label (`anomaly_feedback`): at the episode's start, one series per alert. */
export function feedbackPoint(f: AlertFeedback): EventPoint {
  return {
    kind: 'feedback',
    time: f.startsAt,
    tags: { stream: f.stream, fingerprint: f.fingerprint },
    fields: { label: f.label, note: f.note, who: f.who, kind: f.kind, ...(f.endsAt !== null ? { ends_at: f.endsAt } : {}) },
  };
}

function feedbackJson(f: AlertFeedback): FeedbackJson {
  const iso = (t: number): string => new Date(t).toISOString();
  return {
    fingerprint: f.fingerprint, stream: f.stream, kind: f.kind, startsAt: iso(f.startsAt), endsAt: f.endsAt === null ? null : iso(f.endsAt),
    label: f.label, note: f.note, who: f.who, at: iso(f.at),
  };
}
