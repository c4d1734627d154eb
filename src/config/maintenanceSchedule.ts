// The schedule of a recurring maintenance window from its cron expression (five fields, or six with seconds;
// `@weekly` and friends) in an IANA time zone, by croner: a well-kept, dependency-free parser that handles time
// zones and daylight-saving changes, which a hand-written one would get wrong twice a year.
import { Cron } from 'croner';
import { errorMessage } from '../core/errors';
import type { RecurrenceSchedule } from '../core/maintenance';

/** A schedule for `expression` in `timeZone` (default UTC); throws an Error naming what is wrong with it. */
export function cronSchedule(expression: string, timeZone = 'UTC'): RecurrenceSchedule {
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone: timeZone, paused: true });
  } catch (err) {
    throw new Error(`cron "${expression}": ${errorMessage(err)}`);
  }
  // croner validates the zone only when it computes a time: ask once so a bad zone fails here, not at run time.
  try {
    cron.nextRun(new Date(0));
  } catch (err) {
    throw new Error(`time zone "${timeZone}": ${errorMessage(err)}`);
  }
  return {
    text: `${expression} (${timeZone})`,
    lastStartAtOrBefore(t: number): number | null {
      // previousRuns looks strictly before the date, at whole seconds: from 1 s later, the first run at or
      // before t (a start exactly at t included).
      const run = cron.previousRuns(2, new Date(t + 1000)).find((d) => d.getTime() <= t);
      return run ? run.getTime() : null;
    },
    nextStartAfter(t: number): number | null {
      const run = cron.nextRun(new Date(t));
      return run ? run.getTime() : null;
    },
  };
}
