// Maintenance windows: periods in which the operator knows a machine will look abnormal (a planned stop, a
// valve change, a cleaning cycle) and nobody should be paged for it, nor should the detector learn it as
// normal. This file only answers "which window, if any, covers this stream at this time?" and "which windows
// opened or closed since the last look?", clock-free: the caller passes the time. What a covered stream does
// (scores still computed and written, pages held, learning skipped) is decided where notices and windows flow.
//
// A window is one-off (start, end) or recurring (a schedule of starts, each open for `durationMs`). The
// schedule is an interface here: core imports nothing, and the cron parsing that produces it lives with the
// config. Streams are chosen by a glob over stream ids (StreamAllowList's syntax: `*` one level, `**` across)
// and, optionally, labels that must all match (`line=line1`).
import { StreamAllowList } from './streamAdmission';

/** The starts of a recurring window. */
export interface RecurrenceSchedule {
  /** The latest start at or before `t` (ms), or null when there is none. */
  lastStartAtOrBefore(t: number): number | null;
  /** The first start after `t` (ms), or null when there is none. */
  nextStartAfter(t: number): number | null;
  /** How the schedule was written (a cron expression and its time zone), for listings. */
  readonly text: string;
}

export interface MaintenanceSelector {
  /** Stream ids (globs, see StreamAllowList); default every stream. */
  readonly streams?: readonly string[];
  /** Labels a stream must carry, every one with this value. */
  readonly labels?: Readonly<Record<string, string>>;
}

interface WindowBase {
  readonly id: string;
  readonly reason: string;
  readonly selector: MaintenanceSelector;
  /** Where the window comes from: the config file (kept across reloads as written) or the operator API. */
  readonly origin: 'config' | 'api';
  /** Who created it (the token name for the API, "config" otherwise). */
  readonly createdBy: string;
}

export interface OneOffWindow extends WindowBase {
  readonly start: number;
  readonly end: number;
}

export interface RecurringWindow extends WindowBase {
  readonly schedule: RecurrenceSchedule;
  readonly durationMs: number;
}

export type MaintenanceWindow = OneOffWindow | RecurringWindow;

/** One occurrence of a window: when it opened and when it closes. */
export interface OpenWindow {
  readonly window: MaintenanceWindow;
  readonly start: number;
  readonly end: number;
}

export function isRecurring(w: MaintenanceWindow): w is RecurringWindow {
  return 'schedule' in w;
}

/** The occurrence of `w` open at `t`, or null. An occurrence covers [start, end). */
export function occurrenceAt(w: MaintenanceWindow, t: number): OpenWindow | null {
  if (!isRecurring(w)) return t >= w.start && t < w.end ? { window: w, start: w.start, end: w.end } : null;
  const start = w.schedule.lastStartAtOrBefore(t);
  if (start === null || t >= start + w.durationMs) return null;
  return { window: w, start, end: start + w.durationMs };
}

/** The next occurrence of `w` that opens after `t` (the one open at `t` is not it), or null. */
export function nextOccurrence(w: MaintenanceWindow, t: number): OpenWindow | null {
  if (!isRecurring(w)) return w.start > t ? { window: w, start: w.start, end: w.end } : null;
  const start = w.schedule.nextStartAfter(t);
  return start === null ? null : { window: w, start, end: start + w.durationMs };
}

/** Checks a window's own consistency; returns what is wrong, in words, or null. */
export function windowProblem(w: MaintenanceWindow): string | null {
  if (w.id.length === 0) return 'a window needs an id';
  if (isRecurring(w)) {
    if (!(Number.isFinite(w.durationMs) && w.durationMs > 0)) return `duration must be a positive number of ms (got ${w.durationMs})`;
    return null;
  }
  if (!Number.isFinite(w.start) || !Number.isFinite(w.end)) return 'start and end must be times';
  if (w.end <= w.start) return `end (${new Date(w.end).toISOString()}) must be after start (${new Date(w.start).toISOString()})`;
  return null;
}

class CompiledSelector {
  private readonly streams: StreamAllowList | null;

  constructor(private readonly selector: MaintenanceSelector) {
    const globs = selector.streams ?? [];
    this.streams = globs.length === 0 ? null : new StreamAllowList(globs);
  }

  covers(stream: string, labels: Readonly<Record<string, string>>): boolean {
    if (this.streams && !this.streams.admits(stream)) return false;
    const wanted = this.selector.labels;
    if (wanted) for (const key of Object.keys(wanted)) if (labels[key] !== wanted[key]) return false;
    return true;
  }
}

/** What changed between two looks at the calendar. */
export interface CalendarChanges {
  readonly opened: readonly OpenWindow[];
  readonly closed: readonly OpenWindow[];
}

/**
 * The maintenance windows in force. `covering` is asked per window of a stream, so it looks only at the
 * occurrences open at the last `tick` (a handful), not at every schedule.
 */
export class MaintenanceCalendar {
  private readonly windows = new Map<string, { window: MaintenanceWindow; selector: CompiledSelector }>();
  private open = new Map<string, OpenWindow>();

  /** Adds or replaces a window (same id); throws a RangeError naming what is wrong with it. */
  set(w: MaintenanceWindow): void {
    const problem = windowProblem(w);
    if (problem) throw new RangeError(`maintenance window '${w.id}': ${problem}`);
    this.windows.set(w.id, { window: w, selector: new CompiledSelector(w.selector) });
  }

  /** Removes a window; true when it existed. Its open occurrence is reported closed at the next tick. */
  delete(id: string): boolean {
    return this.windows.delete(id);
  }

  get(id: string): MaintenanceWindow | undefined {
    return this.windows.get(id)?.window;
  }

  /** Every window, in the order they were added. */
  list(): MaintenanceWindow[] {
    return [...this.windows.values()].map((e) => e.window);
  }

  /** Occurrences open at the last tick. */
  openWindows(): OpenWindow[] {
    return [...this.open.values()];
  }

  /**
   * Looks at the calendar at `t`: which occurrences opened and which closed since the last tick (a window
   * deleted while open closes; a recurring window whose next occurrence began counts as closed and opened).
   */
  tick(t: number): CalendarChanges {
    const next = new Map<string, OpenWindow>();
    const opened: OpenWindow[] = [];
    const closed: OpenWindow[] = [];
    for (const [id, { window }] of this.windows) {
      const occurrence = occurrenceAt(window, t);
      if (occurrence) next.set(id, occurrence);
    }
    for (const [id, was] of this.open) {
      const now = next.get(id);
      if (!now || now.start !== was.start || now.window !== was.window) closed.push(was);
    }
    for (const [id, now] of next) {
      const was = this.open.get(id);
      if (!was || was.start !== now.start || was.window !== now.window) opened.push(now);
    }
    this.open = next;
    return { opened, closed };
  }

  /** The open occurrence (as of the last tick) that covers the stream, the one closing last when several do. */
  covering(stream: string, labels: Readonly<Record<string, string>>): OpenWindow | null {
    let best: OpenWindow | null = null;
    for (const [id, occurrence] of this.open) {
      const entry = this.windows.get(id);
      if (!entry || !entry.selector.covers(stream, labels)) continue;
      if (!best || occurrence.end > best.end) best = occurrence;
    }
    return best;
  }

  /** Windows whose end has passed at `t` and that do not recur: the API forgets them after a while. */
  expired(t: number): MaintenanceWindow[] {
    return this.list().filter((w) => !isRecurring(w) && w.end <= t);
  }
}
