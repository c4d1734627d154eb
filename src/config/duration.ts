// Durations written for people: "90s", "30m", "2h", "7d" (one number, one unit). Used where the natural unit
// is minutes to days (maintenance windows, retraining schedules) and a count of milliseconds would be misread.
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The JSON Schema pattern of a duration (the schema refuses anything else before parseDuration sees it). */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$';

/** Milliseconds of a duration string; throws a RangeError naming the value when it is not one. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration (a number and one of ms, s, m, h, d: "90m", "2h", "7d")`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
}
