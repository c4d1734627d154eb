// The maintenance windows created through the operator API, kept in state_dir/maintenance.json so a restart
// (kill -9 included) keeps them: a window the operator opened for a four-hour valve change must not vanish
// with the process. Windows from the config file are not written here (the file is their record). Beside them,
// the alerts the windows hold (core/maintenanceGate.ts): a restart inside a window must still page at its end
// for a fault that outlasts it, and must not re-assert a held alert to Alertmanager. Written
// atomically on every change, before the API answers; a damaged file is set aside and reported, and the
// daemon starts without API windows (the config's still hold).
import * as path from 'node:path';
import type { AlertNotice } from '../core/alert';
import { reviveFiringNotice } from '../core/alertNoticeCheck';
import type { Log } from '../core/context';
import { loadJsonState } from './jsonStateFile';
import { writeAtomic } from './stateStore';

export const MAINTENANCE_FILE = 'maintenance.json';
const FORMAT = 1;

export interface SavedWindow {
  readonly id: string;
  readonly reason: string;
  readonly streams: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly start: number;
  readonly end: number;
  readonly createdBy: string;
}

/** What the file holds. */
export interface SavedMaintenance {
  readonly windows: SavedWindow[];
  /** Firing notices held by a window, each with its `maintenance` mark. */
  readonly held: AlertNotice[];
}

export class MaintenanceFile {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly log: Log,
  ) {
    this.file = path.join(stateDir, MAINTENANCE_FILE);
  }

  load(): Promise<SavedMaintenance> {
    return loadJsonState(
      this.file,
      (json) => {
        const parsed = json as { format?: unknown; windows?: unknown; held?: unknown };
        if (parsed.format !== FORMAT || !Array.isArray(parsed.windows)) throw new Error(`unexpected content (format ${String(parsed.format)})`);
        const windows = parsed.windows.filter(isSavedWindow);
        const savedHeld: unknown[] = Array.isArray(parsed.held) ? parsed.held : [];
        const held = savedHeld.map(revivedHeld).filter((n): n is AlertNotice => n !== null);
        const skipped = parsed.windows.length - windows.length + savedHeld.length - held.length;
        if (skipped > 0) this.log.warn('Skipped unreadable maintenance windows or held alerts of the state directory.', { file: this.file, skipped });
        return { windows, held };
      },
      { windows: [], held: [] },
      this.log,
      'The maintenance windows file is damaged; starting without the windows created through the API (kept the file aside).',
    );
  }

  async save(saved: { readonly windows: readonly SavedWindow[]; readonly held: readonly AlertNotice[] }): Promise<void> {
    await writeAtomic(this.file, JSON.stringify({ format: FORMAT, windows: saved.windows, held: saved.held }, null, 1) + '\n');
  }
}

/** A held notice read back: a firing notice with its window mark, or null. */
function revivedHeld(value: unknown): AlertNotice | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v['maintenance'] !== 'string' || typeof v['kind'] !== 'string' || typeof v['stream'] !== 'string') return null;
  const notice = reviveFiringNotice(value, v['kind'] as AlertNotice['kind'], v['stream']);
  return typeof notice === 'string' ? null : notice;
}

function isSavedWindow(v: unknown): v is SavedWindow {
  if (typeof v !== 'object' || v === null) return false;
  const w = v as Record<string, unknown>;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const labels = w['labels'];
  return (
    typeof w['id'] === 'string' &&
    typeof w['reason'] === 'string' &&
    strings(w['streams']) &&
    typeof labels === 'object' &&
    labels !== null &&
    Object.values(labels).every((l) => typeof l === 'string') &&
    typeof w['start'] === 'number' &&
    typeof w['end'] === 'number' &&
    w['end'] > w['start'] &&
    typeof w['createdBy'] === 'string'
  );
}
