// Keeps the status page's alert history (core/alertHistory.ts) in state_dir/alert-history.json across
// restarts. A file of its own rather than a field of state.json: the history is for people, so a damaged one
// costs only the list (set aside, the daemon starts with an empty list), never the alert state that decides
// what pages. Written atomically (temp file, fsync, rename) when the history changed, at most every
// `intervalMs`, and at stop; at most 100 episodes, so a write is a few tens of kilobytes.
import { mkdir, readFile, rename } from 'node:fs/promises';
import * as path from 'node:path';
import type { ComponentContext } from '../core/context';
import { parseHistory, type AlertHistory } from '../core/alertHistory';
import { errorMessage } from '../core/errors';
import { writeAtomic } from './stateStore';

export const ALERT_HISTORY_FILE = 'alert-history.json';

export class AlertHistoryFile {
  readonly file: string;
  private written = -1;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly ctx: ComponentContext,
    stateDir: string,
    private readonly history: AlertHistory,
    private readonly intervalMs = 2000,
  ) {
    this.file = path.join(stateDir, ALERT_HISTORY_FILE);
  }

  /** Loads the saved history: a missing file is a first start, a damaged one is set aside and reported. */
  async start(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    let text: string | null = null;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.ctx.log.warn('Cannot read the alert history; the status page starts with an empty one.', { file: this.file, error: errorMessage(err) });
      }
    }
    if (text !== null) await this.load(text);
    this.written = this.history.changes;
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }

  private async load(text: string): Promise<void> {
    try {
      const { episodes, skipped } = parseHistory(JSON.parse(text));
      this.history.load(episodes);
      if (skipped > 0) this.ctx.log.warn('Skipped damaged entries of the alert history.', { file: this.file, skipped });
    } catch (err) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside).catch(() => undefined);
      this.ctx.log.warn('The alert history file is damaged; starting with an empty history (kept the file aside).', { file: this.file, aside, error: errorMessage(err) });
    }
  }

  /** Writes the history if it changed since the last write; one write at a time. */
  save(): Promise<void> {
    const changes = this.history.changes;
    if (changes === this.written) return this.saving;
    this.saving = this.saving.then(async () => {
      if (changes === this.written) return;
      try {
        await writeAtomic(this.file, JSON.stringify(this.history) + '\n');
        this.written = changes;
        if (this.failing) this.ctx.log.info('The alert history is written again.', { file: this.file });
        this.failing = false;
      } catch (err) {
        // Only the page's list is at stake: one warning until it works again, and the next tick retries.
        if (!this.failing) this.ctx.log.warn('Cannot write the alert history; it is kept in memory and retried.', { file: this.file, error: errorMessage(err) });
        this.failing = true;
      }
    });
    return this.saving;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.save();
  }
}
