// The daemon's small persistent state: the alert sequence counter and each stream's alert state machine, so a
// restart neither pages again for alerts already sent nor loses a resolve. One JSON file under state_dir,
// written atomically (temp file, fsync, rename) whenever it changed, at most every `intervalMs`, and at stop.
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { ComponentContext } from '../core/context';

export const STATE_FORMAT = 1;

export interface PersistedState {
  readonly format: number;
  readonly sequence: number;
  readonly alerts: Readonly<Record<string, unknown>>;
  readonly savedAt: string;
}

export class StateStore {
  private sequence = 0;
  private readonly alerts = new Map<string, unknown>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  readonly file: string;

  constructor(
    private readonly ctx: ComponentContext,
    stateDir: string,
    private readonly intervalMs = 2000,
  ) {
    this.file = path.join(stateDir, 'state.json');
  }

  /** Load the previous state; a missing file is a first start, a corrupt one is set aside and reported. */
  async start(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.startTimer();
      throw err;
    }
    try {
      const state = JSON.parse(text) as Partial<PersistedState>;
      if (state.format !== STATE_FORMAT || typeof state.sequence !== 'number' || typeof state.alerts !== 'object' || state.alerts === null) {
        throw new Error(`unexpected content (format ${String(state.format)})`);
      }
      this.sequence = state.sequence;
      for (const [stream, snapshot] of Object.entries(state.alerts)) this.alerts.set(stream, snapshot);
      this.ctx.log.info('Restored alert state.', { file: this.file, streams: this.alerts.size, sequence: this.sequence });
    } catch (err) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside);
      this.ctx.log.error('State file is corrupt; starting with empty alert state (kept the file aside).', {
        file: this.file,
        aside,
        error: (err as Error).message,
      });
    }
    this.startTimer();
  }

  /** Next alert sequence number: monotonic across restarts. */
  nextSequence = (): number => {
    this.sequence++;
    this.dirty = true;
    return this.sequence;
  };

  alertSnapshot(stream: string): unknown {
    return this.alerts.get(stream);
  }

  setAlertSnapshot(stream: string, snapshot: unknown): void {
    this.alerts.set(stream, snapshot);
    this.dirty = true;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.dirty = true;
    await this.save();
  }

  save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    const state: PersistedState = {
      format: STATE_FORMAT,
      sequence: this.sequence,
      alerts: Object.fromEntries(this.alerts),
      savedAt: new Date().toISOString(),
    };
    this.saving = this.saving.then(() => writeAtomic(this.file, JSON.stringify(state))).catch((err: unknown) => {
      this.dirty = true;
      this.ctx.log.error('Cannot write the state file; alert state would be lost on a crash.', { file: this.file, error: (err as Error).message });
    });
    return this.saving;
  }

  private startTimer(): void {
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
