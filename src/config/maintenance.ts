// The maintenance windows of a config, as the calendar takes them (core/maintenance.ts), and the checks that
// the schema cannot make: one-off or recurring, never both or half; times in order; cron and zone valid; ids unique.
import { errorMessage } from '../core/errors';
import type { MaintenanceWindow } from '../core/maintenance';
import { parseDuration } from './duration';
import { cronSchedule } from './maintenanceSchedule';
import type { ProblemList } from './problems';
import type { Config } from './schema';

type WindowConfig = Config['maintenance'][number];

/** The windows of the config; call on a config whose checkMaintenance found nothing (throws otherwise). */
export function maintenanceWindows(config: Config): MaintenanceWindow[] {
  return config.maintenance.map((w) => {
    const base = {
      id: w.id,
      reason: w.reason,
      selector: { ...(w.streams ? { streams: w.streams } : {}), ...(w.labels ? { labels: w.labels } : {}) },
      origin: 'config' as const,
      createdBy: 'config',
    };
    if (w.cron !== undefined) return { ...base, schedule: cronSchedule(w.cron, w.time_zone), durationMs: parseDuration(w.duration ?? '') };
    return { ...base, start: Date.parse(w.start ?? ''), end: Date.parse(w.end ?? '') };
  });
}

export function checkMaintenance(config: Config, problems: ProblemList): void {
  const seen = new Set<string>();
  config.maintenance.forEach((w, i) => {
    const at = (key: string): ['maintenance', number, string] => ['maintenance', i, key];
    if (seen.has(w.id)) problems.add(at('id'), 'is used by an earlier window', w.id);
    seen.add(w.id);
    checkWindow(w, at, problems);
  });
}

function checkWindow(w: WindowConfig, at: (key: string) => ['maintenance', number, string], problems: ProblemList): void {
  const oneOff = w.start !== undefined || w.end !== undefined;
  const recurring = w.cron !== undefined || w.duration !== undefined || w.time_zone !== undefined;
  if (oneOff && recurring) {
    problems.add(at(w.cron !== undefined ? 'cron' : w.duration !== undefined ? 'duration' : 'time_zone'), 'a window is either one-off (start, end) or recurring (cron, duration), not both', undefined);
    return;
  }
  if (!oneOff && !recurring) {
    problems.add(at('start'), 'is required (with end) for a one-off window; a recurring one needs cron and duration', undefined);
    return;
  }
  if (oneOff) {
    if (w.start === undefined) problems.add(at('start'), 'is required with end', undefined);
    if (w.end === undefined) problems.add(at('end'), 'is required with start', undefined);
    if (w.start !== undefined && w.end !== undefined && !(Date.parse(w.end) > Date.parse(w.start))) problems.add(at('end'), `must be after start (${w.start})`, w.end);
    return;
  }
  if (w.cron === undefined) problems.add(at('cron'), 'is required for a recurring window', undefined);
  if (w.duration === undefined) problems.add(at('duration'), 'is required for a recurring window', undefined);
  if (w.cron === undefined) return;
  try {
    cronSchedule(w.cron, w.time_zone);
  } catch (err) {
    const message = errorMessage(err);
    problems.add(at(message.startsWith('time zone') ? 'time_zone' : 'cron'), `is not valid: ${message}`, message.startsWith('time zone') ? w.time_zone : w.cron);
  }
}
