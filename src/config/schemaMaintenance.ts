// The `maintenance` section: planned windows in which pages are held and nothing is learned (core/maintenance.ts).
// A window is one-off (start, end) or recurring (cron, time_zone, duration); which of the two, and that the
// times, cron expression and zone are valid, is checked in semantic.ts (the schema cannot say "either").
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './duration';
import { entry, named } from './schemaHelpers';

const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$';

export const maintenanceWindowSchema = entry(
  {
    id: named('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', 'must be a name of letters, digits, "_", "." or "-" (at most 64 characters)', 'Name of the window (unique; shown by `anomalyd maintenance list`, on the status page and in InfluxDB).'),
    reason: Type.String({ minLength: 1, maxLength: 256, description: 'Why: shown wherever the window is (and in the page sent when a fault outlasts it).' }),
    streams: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'Stream ids or globs the window covers (`*` one level, `**` across levels). Default: every stream (narrowed by labels).',
      }),
    ),
    labels: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        description: 'Labels a covered stream must carry, each with this value (e.g. line: line1).',
        propertyNames: { minLength: 1, maxLength: 64 },
        additionalProperties: { type: 'string', maxLength: 256, description: 'The value the label must have.' },
      }),
    ),
    start: Type.Optional(named(ISO_TIME, 'must be an ISO 8601 time with a zone, e.g. 2026-12-10T06:00:00+01:00', 'One-off window: when it opens (ISO 8601 with a zone).')),
    end: Type.Optional(named(ISO_TIME, 'must be an ISO 8601 time with a zone, e.g. 2026-12-10T10:00:00+01:00', 'One-off window: when it closes.')),
    cron: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Recurring window: when each occurrence opens, a cron expression (minute hour day-of-month month day-of-week, e.g. "0 6 * * 1" = Mondays 06:00).' })),
    time_zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Recurring window: the IANA time zone of `cron` (e.g. Europe/Berlin; default UTC). Daylight saving time is followed.' })),
    duration: Type.Optional(named(DURATION_PATTERN, 'must be a duration such as "90m", "2h" or "1d"', 'Recurring window: how long each occurrence stays open ("90m", "2h").')),
  },
  'A maintenance window: one-off (start and end) or recurring (cron, duration and optionally time_zone).',
);

export const maintenanceSchema = Type.Array(maintenanceWindowSchema, {
  default: [],
  maxItems: 1000,
  description: 'Planned maintenance windows. Inside one, alerts of the covered streams are recorded but page nobody (one still firing when the window ends pages then), and nothing is learned; scores are still computed and written.',
});
