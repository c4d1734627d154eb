// A stream's operating modes from its `modes` entry: the classifier of its samples (`when` conditions, compiled
// once per stream and evaluated per sample without allocating), the model of each mode (`auto` = a model learned
// for the stream in that mode, named `auto:<stream>@<mode>` and stored like the stream's own learned model), and
// one score filter per mode, made on first use, so the likelihood history of one duty point never judges another.
import type { ModesConfig } from '../config/schema';
import type { AlertNotice } from '../core/alert';
import { compileModeCondition, type ModeTest } from '../core/modeCondition';
import type { StreamScoreFilter } from '../core/scoreFilter';
import type { ModeBinding } from '../pipeline/pipeline';
import { AUTO_PREFIX } from './models';

/** The reason on the resolves sent when a stream's machine goes to the `off` mode. */
export const MACHINE_STOPPED =
  'The machine stopped (operating mode off): its alerts are closed, and nothing is scored or paged until it runs again.';

/** Modes of one stream that get a score filter of their own; further names (a free-text mode topic) share the stream's. */
const MAX_MODE_FILTERS = 32;

export interface ModeBindingDeps {
  readonly stream: string;
  readonly channels: readonly string[];
  readonly modes: ModesConfig;
  /** The stream's own model (modes without one of their own use it). */
  readonly baseModel: string;
  readonly baseFilter: StreamScoreFilter | undefined;
  /** A new score filter for the windows of `mode`, scored by `model`. */
  readonly newFilter: (mode: string, model: string) => StreamScoreFilter | undefined;
  /** Resolves what the stream has firing (the machine stopped). */
  readonly stopped: (now: number) => readonly AlertNotice[];
  /** The mode filters of the stream's previous binding, when its filter settings did not change (a reload). */
  readonly carried?: ReadonlyMap<string, StreamScoreFilter>;
  /** The mode saved in the state file (null: none). */
  readonly initial: string | null;
  readonly changed: (mode: string) => void;
}

/** The model name of the model learned for `stream` in `mode`. */
export function modeAutoModel(stream: string, mode: string): string {
  return `${AUTO_PREFIX}${stream}@${mode}`;
}

export function modeBinding(d: ModeBindingDeps): ModeBinding {
  const { modes } = d;
  const filters = new Map<string, StreamScoreFilter>(d.carried ?? []);
  const made = new Set<string>(filters.keys());
  const modelOf = (mode: string): string => {
    const own = modes.models?.[mode];
    if (own === undefined) return d.baseModel;
    return own === 'auto' ? modeAutoModel(d.stream, mode) : own;
  };
  const classify = modes.when !== undefined ? classifier(modes.when, modes.default ?? 'default', d.channels) : undefined;
  return {
    source: classify ? 'when' : 'topic',
    holdSamples: modes.hold_samples,
    ...(classify ? { classify } : {}),
    modelOf,
    filterOf(mode) {
      if (made.has(mode)) return filters.get(mode);
      if (made.size >= MAX_MODE_FILTERS) return d.baseFilter;
      made.add(mode);
      const filter = d.newFilter(mode, modelOf(mode));
      if (filter) filters.set(mode, filter);
      return filter;
    },
    stopped: d.stopped,
    filters: () => filters,
    initial: d.initial,
    changed: d.changed,
  };
}

/** The mode of a sample: the first `when` condition that holds, else `fallback`. */
export function classifier(when: Readonly<Record<string, string>>, fallback: string, channels: readonly string[]): (values: ArrayLike<number>) => string {
  const names = Object.keys(when);
  // The config check refused conditions that do not compile; this throws only for a config built without it.
  const tests: ModeTest[] = names.map((name) => compileModeCondition(when[name], channels));
  return (values) => {
    for (let i = 0; i < tests.length; i++) if ((tests[i])(values)) return names[i];
    return fallback;
  };
}
