// The daemon's maintenance windows: those of the config file (replaced on reload) and those created through the
// operator API (kept in the state directory, state/maintenanceFile.ts), in one calendar (core/maintenance.ts)
// with the gate that holds alerts inside them (core/maintenanceGate.ts). `tick` is called periodically: it
// reports windows opening and closing and returns the held alerts to page now. A one-off API window is
// forgotten once it has ended; a config window stays until the file drops it.
import { randomBytes } from 'node:crypto';
import type { AlertNotice } from '../core/alert';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import { isRecurring, MaintenanceCalendar, occurrenceAt, type CalendarChanges, type MaintenanceWindow, type OpenWindow } from '../core/maintenance';
import { MaintenanceGate } from '../core/maintenanceGate';
import type { EventPoint } from '../core/sink';
import type { MaintenanceFile, SavedWindow } from '../state/maintenanceFile';
import type { MaintenanceActions, MaintenanceRequest, MaintenanceWindowJson } from '../telemetry/operatorApi';
import type { MaintenanceView } from '../telemetry/status';

export interface MaintenanceOptions {
  readonly file: MaintenanceFile;
  readonly log: Log;
  readonly now: () => number;
  readonly nextSequence: () => number;
  /** A window opened or closed (log, metrics, InfluxDB annotation). */
  readonly changed?: (changes: CalendarChanges) => void;
}

export class Maintenance implements MaintenanceActions {
  readonly calendar = new MaintenanceCalendar();
  readonly gate: MaintenanceGate;
  private api = new Map<string, SavedWindow>();
  /** Saves of the API windows and held alerts, one after another (the file is rewritten whole). */
  private saving: Promise<void> = Promise.resolve();
  /** The gate's revision last saved (-1 after a failed save: the next tick tries again). */
  private savedRevision = 0;
  /** The last save failed: reported once, and its recovery once. */
  private failing = false;

  constructor(private readonly o: MaintenanceOptions) {
    this.gate = new MaintenanceGate(this.calendar, o.nextSequence);
  }

  /** Loads the API windows still to come or open; ended ones are dropped from the file. */
  async start(configWindows: readonly MaintenanceWindow[]): Promise<void> {
    this.setConfigWindows(configWindows);
    const now = this.o.now();
    const saved = await this.o.file.load();
    for (const w of saved.windows) if (w.end > now && !this.calendar.get(w.id)) this.keep(w);
    this.gate.restore(saved.held);
    this.savedRevision = this.gate.revision;
    if (this.api.size !== saved.windows.length) await this.save();
    this.look(now);
  }

  /** The config's windows (at start and on reload): they replace the previous config's; API windows stay. */
  setConfigWindows(windows: readonly MaintenanceWindow[]): void {
    for (const w of this.calendar.list()) if (w.origin === 'config') this.calendar.delete(w.id);
    for (const w of windows) {
      // A config window takes its id from an API window of the same name (the file wins: it is the plan of record).
      if (this.api.delete(w.id)) this.saveInBackground();
      this.calendar.set(w);
    }
  }

  /**
   * The pipeline's gate for every notice: held while a window covers its stream (see core/maintenanceGate.ts);
   * what is held is saved at once, so a restart inside the window still pages at its end.
   */
  judge(notice: AlertNotice): AlertNotice {
    const out = this.gate.judge(notice);
    if (this.gate.revision !== this.savedRevision) this.saveInBackground();
    return out;
  }

  /** Whether a window holds the alert of this fingerprint (restored alerts are not re-asserted to pagers then). */
  holds(fingerprint: string): boolean {
    return this.gate.holds(fingerprint);
  }

  /** Looks at the calendar now: reports opened and closed windows, forgets ended API windows, returns pages now due. */
  tick(now = this.o.now()): AlertNotice[] {
    this.look(now);
    let ended = false;
    for (const [id, w] of this.api) {
      if (w.end > now) continue;
      this.api.delete(id);
      this.calendar.delete(id);
      ended = true;
    }
    const pages = this.gate.release();
    if (ended || this.gate.revision !== this.savedRevision) this.saveInBackground();
    return pages;
  }

  /** The calendar at `now`, changes reported: a window added or ended through the API counts at once. */
  private look(now: number): void {
    const changes = this.calendar.tick(now);
    if (changes.opened.length > 0 || changes.closed.length > 0) this.o.changed?.(changes);
  }

  /** The windows open now, for the status page. */
  openViews(): MaintenanceView[] {
    return this.calendar.openWindows().map((o) => ({
      id: o.window.id,
      reason: o.window.reason,
      scope: [(o.window.selector.streams ?? ['every stream']).join(', '), ...Object.entries(o.window.selector.labels ?? {}).map(([k, v]) => `${k}=${v}`)].join('; '),
      start: o.start,
      end: o.end,
      origin: o.window.origin,
    }));
  }

  list(): MaintenanceWindowJson[] {
    const now = this.o.now();
    return this.calendar.list().map((w) => windowJson(w, occurrenceAt(w, now)));
  }

  add(request: MaintenanceRequest, who: string): Promise<MaintenanceWindowJson | { refused: string }> {
    const saved: SavedWindow = { id: newId(request.start), reason: request.reason, streams: request.streams, labels: request.labels, start: request.start, end: request.end, createdBy: who };
    const window = this.keep(saved);
    this.look(this.o.now());
    return this.save().then(() => windowJson(window, occurrenceAt(window, this.o.now())));
  }

  async end(id: string, _who: string): Promise<'ended' | 'unknown' | 'config'> {
    const window = this.calendar.get(id);
    if (!window) return 'unknown';
    if (window.origin === 'config') return 'config';
    this.api.delete(id);
    this.calendar.delete(id);
    this.look(this.o.now());
    await this.save();
    return 'ended';
  }

  private keep(w: SavedWindow): MaintenanceWindow {
    const window: MaintenanceWindow = {
      id: w.id,
      reason: w.reason,
      selector: { streams: w.streams, ...(Object.keys(w.labels).length > 0 ? { labels: w.labels } : {}) },
      origin: 'api',
      createdBy: w.createdBy,
      start: w.start,
      end: w.end,
    };
    this.calendar.set(window);
    this.api.set(w.id, w);
    return window;
  }

  /** Resolves once every save begun so far has finished or failed (a stop, or a test, waits for it). */
  settled(): Promise<void> {
    return this.saving.catch(() => undefined);
  }

  /** A save nobody waits for: a failure is logged (the next change or tick tries again). */
  private saveInBackground(): void {
    this.save().catch(() => undefined);
  }

  private save(): Promise<void> {
    const saved = { windows: [...this.api.values()], held: [...this.gate.snapshot()] };
    this.savedRevision = this.gate.revision;
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.o.file.save(saved))
      .then(() => {
        if (this.failing) this.o.log.info('Saved the maintenance windows and held alerts again.', { file: this.o.file.file });
        this.failing = false;
      })
      .catch((err: unknown) => {
        // Tried again at the next tick; until then a restart would lose what changed.
        this.savedRevision = -1;
        if (!this.failing) this.o.log.error('Cannot save the maintenance windows and held alerts; a restart now would lose the latest change.', { file: this.o.file.file, error: errorMessage(err) });
        this.failing = true;
        throw err;
      });
    return this.saving;
  }
}

/** A window id people can read and type: when it starts, and 4 random hex digits so two at once differ. */
function newId(start: number): string {
  const stamp = new Date(start).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return `mw-${stamp}-${randomBytes(2).toString('hex')}`;
}

function windowJson(w: MaintenanceWindow, open: OpenWindow | null): MaintenanceWindowJson {
  const iso = (t: number): string => new Date(t).toISOString();
  return {
    id: w.id,
    reason: w.reason,
    streams: w.selector.streams ?? ['**'],
    labels: w.selector.labels ?? {},
    ...(isRecurring(w) ? { schedule: w.schedule.text, duration_ms: w.durationMs } : { start: iso(w.start), end: iso(w.end) }),
    origin: w.origin,
    created_by: w.createdBy,
    ...(open ? { open: { start: iso(open.start), end: iso(open.end) } } : {}),
  };
}

/**
 * The InfluxDB points of windows opening and closing (`anomaly_maintenance`, tag `window`): an opening at the
 * occurrence's start with its planned `end` (ms), so a dashboard draws the region; a closing when it closed
 * (its end, or now for a window ended early).
 */
export function maintenancePoints(changes: CalendarChanges, now: number): EventPoint[] {
  const fields = (o: OpenWindow): Record<string, string> => ({
    reason: o.window.reason,
    origin: o.window.origin,
    streams: (o.window.selector.streams ?? ['**']).join(','),
    labels: Object.entries(o.window.selector.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
  });
  return [
    ...changes.closed.map((o): EventPoint => ({ kind: 'maintenance', time: Math.min(now, o.end), tags: { window: o.window.id }, fields: { state: 'closed', ...fields(o) } })),
    ...changes.opened.map((o): EventPoint => ({ kind: 'maintenance', time: o.start, tags: { window: o.window.id }, fields: { state: 'open', end: o.end, ...fields(o) } })),
  ];
}
