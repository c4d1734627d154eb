// The `modes` entry of a subscription or stream: where a stream's operating mode comes from (conditions on its
// own channels, or another MQTT topic), how long a new mode must hold, and a model per mode.
import { Type } from '@sinclair/typebox';
import { MODE_NAME_SOURCE } from '../core/modeTracker';
import { entry, patternMessages } from './schemaHelpers';

/** Mode names become metric labels, InfluxDB fields and part of learned model names (`auto:<stream>@<mode>`). */
export const MODE_NAME_PATTERN = MODE_NAME_SOURCE;
patternMessages.set(MODE_NAME_PATTERN, 'must be a mode name: a letter, then letters, digits, "_" or "-" (at most 32 characters)');

const modeName = (description: string): ReturnType<typeof Type.String> => Type.String({ pattern: MODE_NAME_PATTERN, description });

const modeMap = <T extends Record<string, unknown>>(value: T, description: string, extra: Record<string, unknown> = {}): ReturnType<typeof Type.Unsafe<Record<string, string>>> =>
  Type.Unsafe<Record<string, string>>({ type: 'object', description, propertyNames: { pattern: MODE_NAME_PATTERN }, additionalProperties: value, ...extra });

export const modesSchema = entry(
  {
    when: Type.Optional(
      modeMap(
        { type: 'string', minLength: 1, maxLength: 1024, description: 'Condition on the stream\'s own channels, e.g. "motor_current_a < 2" or "flow_m3h >= 40 and pressure_bar > 3" (< <= > >= == !=, joined by and / or, parentheses allowed; a missing value makes its comparison false).' },
        'Mode -> condition, tried in order; the first that holds for a sample names its mode. Give either `when` (with `default`) or `topic`.',
        { minProperties: 1, maxProperties: 32 },
      ),
    ),
    default: Type.Optional(modeName('The mode of a sample no `when` condition holds for (required with `when`).')),
    topic: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'MQTT topic that carries the mode, with names from the subscription\'s template, e.g. plant/{line}/{asset}/state; it must name every template name the stream id uses. Whoever can publish there can declare the machine off: protect it like the data topics.',
      }),
    ),
    field: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'JSON field of the mode topic\'s payload holding the mode (a dotted path for nested objects). Unset: the whole payload (text or number).' })),
    values: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        description: 'Raw value on the mode topic -> mode name, e.g. {"0": off, "1": normal}. A value not listed is rejected (counted as unknown_mode). Unset: the value is the mode name.',
        maxProperties: 256,
        propertyNames: { minLength: 1, maxLength: 256 },
        additionalProperties: modeName('Mode name.'),
      }),
    ),
    hold_samples: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 3,
      description:
        'A new mode applies only after it held for this many consecutive samples (`when`) or mode messages (`topic`), so a signal at a boundary does not flap. A mode topic published only on change wants 1.',
    }),
    models: Type.Optional(
      modeMap(
        { type: 'string', minLength: 1, description: 'Name of an entry in `models`, or "auto" (a model learned for this stream in this mode).' },
        'Mode -> model: windows of that mode are scored by it, an entry of `models` or "auto" (a model learned for the stream in that mode from its first auto_learn_windows windows in it, kept in state_dir/models as auto:<stream>@<mode>). A mode not listed uses the stream\'s `model`.',
      ),
    ),
  },
  "Operating modes of the stream. The mode named `off` stops it: nothing is scored, learned or paged, firing alerts resolve ('machine stopped'), and the stall alarm waits. Every mode change starts fresh windows. A stream entry's `modes` replaces its subscription's.",
);
