// The operators' labels of alert episodes (core/feedback.ts), kept in state_dir/feedback.json across restarts:
// they are months of what people on the plant told the detector, and the next model's training data depends on
// them. Written atomically on every change, before the API answers; a damaged file is set aside and reported,
// and the daemon starts without labels.
import * as path from 'node:path';
import type { Log } from '../core/context';
import { reviveFeedback, type AlertFeedback } from '../core/feedback';
import { loadJsonState } from './jsonStateFile';
import { writeAtomic } from './stateStore';

export const FEEDBACK_FILE = 'feedback.json';
const FORMAT = 1;

export class FeedbackFile {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly log: Log,
  ) {
    this.file = path.join(stateDir, FEEDBACK_FILE);
  }

  load(): Promise<AlertFeedback[]> {
    return loadJsonState(
      this.file,
      (json) => {
        const parsed = json as { format?: unknown; feedback?: unknown };
        if (parsed.format !== FORMAT || !Array.isArray(parsed.feedback)) throw new Error(`unexpected content (format ${String(parsed.format)})`);
        const saved: unknown[] = parsed.feedback;
        const labels = saved.map(reviveFeedback).filter((f): f is AlertFeedback => f !== null);
        if (labels.length < saved.length) this.log.warn('Skipped unreadable alert labels of the state directory.', { file: this.file, skipped: saved.length - labels.length });
        return labels;
      },
      [],
      this.log,
      'The alert labels file is damaged; starting without labels (kept the file aside).',
    );
  }

  async save(labels: readonly AlertFeedback[]): Promise<void> {
    await writeAtomic(this.file, JSON.stringify({ format: FORMAT, feedback: labels }) + '\n');
  }
}
