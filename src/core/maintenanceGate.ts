// What a maintenance window does to alerts. A stream's alerts go on being decided inside a window (scores are
// computed and written, the alert state machine runs), but an alert that fires while a window covers its stream
// is held: it carries `maintenance` (the window's id), is recorded (InfluxDB, the status page's history, the
// log) and reaches no pager, and its resolve, inside the window or later, is held with it. When the window
// closes and the alert still fires, it pages then, once, saying so: a fault that outlasts the planned work
// must not stay silent because it began during it.
// Clock-free: the caller ticks the calendar, then calls `release`.
import type { AlertNotice } from './alert';
import type { MaintenanceCalendar } from './maintenance';

interface Held {
  /** The firing notice as recorded (with its mark). */
  notice: AlertNotice;
  /** The window holding it now (another that covers the stream takes it over when the first closes). */
  window: string;
  /** That window's reason, kept: a window ended early is gone from the calendar when the page names it. */
  reason: string;
}

/** A held alert as saved across restarts (its firing notice carries the window that held it). */
export type HeldAlertsSnapshot = readonly AlertNotice[];

export class MaintenanceGate {
  private readonly held = new Map<string, Held>();
  private changes = 0;

  constructor(
    private readonly calendar: MaintenanceCalendar,
    private readonly nextSequence: () => number,
  ) {}

  /** Alerts held now (status page, tests). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Changes with every alert held or let go (a saver knows when to write). */
  get revision(): number {
    return this.changes;
  }

  /** Whether the alert of this fingerprint is held (a restored firing alert is then not re-asserted to pagers). */
  holds(fingerprint: string): boolean {
    return this.held.has(fingerprint);
  }

  /** The notice as it goes on to the sinks: marked `maintenance` when it is held. */
  judge(notice: AlertNotice): AlertNotice {
    const held = this.held.get(notice.fingerprint);
    if (notice.status === 'resolved') {
      if (!held) return notice;
      this.held.delete(notice.fingerprint);
      this.changes++;
      return { ...notice, maintenance: held.window };
    }
    const open = this.calendar.covering(notice.stream, notice.labels);
    if (!open) {
      if (this.held.delete(notice.fingerprint)) this.changes++;
      return notice;
    }
    const marked: AlertNotice = { ...notice, maintenance: open.window.id };
    this.held.set(notice.fingerprint, { notice: marked, window: open.window.id, reason: open.window.reason });
    this.changes++;
    return marked;
  }

  /**
   * The held alerts no open window covers any more (call after the calendar's tick): each pages now as a firing
   * notice of its own episode (same fingerprint and start), with a new sequence number and `maintenanceEnded` naming
   * the window. A held alert another window still covers stays held, under that window.
   */
  release(): AlertNotice[] {
    const out: AlertNotice[] = [];
    for (const [fingerprint, h] of this.held) {
      const open = this.calendar.covering(h.notice.stream, h.notice.labels);
      if (open) {
        if (open.window.id !== h.window) {
          this.changes++;
          h.window = open.window.id;
          h.reason = open.window.reason;
          h.notice = { ...h.notice, maintenance: open.window.id };
        }
        continue;
      }
      this.held.delete(fingerprint);
      this.changes++;
      const rest: AlertNotice = { ...h.notice };
      delete (rest as { maintenance?: string }).maintenance;
      const why = `still firing when maintenance window '${h.window}'${h.reason ? ` (${h.reason})` : ''} ended`;
      out.push({ ...rest, sequence: this.nextSequence(), maintenanceEnded: why });
    }
    return out;
  }

  /** The held alerts, for the state file: a restart inside a window must still page at its end. */
  snapshot(): HeldAlertsSnapshot {
    return [...this.held.values()].map((h) => h.notice);
  }

  /** Takes held alerts up again after a restart (notices without a window mark are ignored). */
  restore(snapshot: HeldAlertsSnapshot): void {
    for (const notice of snapshot) {
      if (notice.status !== 'firing' || notice.maintenance === undefined) continue;
      this.held.set(notice.fingerprint, { notice, window: notice.maintenance, reason: this.calendar.get(notice.maintenance)?.reason ?? '' });
    }
  }
}
