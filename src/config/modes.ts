// Operating modes in the configuration: which `modes` entry a stream has (its stream entry's, else its
// subscription's) and the checks the schema cannot make: one mode source, conditions that parse and name the
// stream's channels, a mode topic whose names come from the subscription's template, models that exist.
// `validate` and `run` refuse the same configurations: the checks that need channels a model gives run again
// once the models load (modeShapeProblems, called from app/modelShape.ts).
import { modeConditionProblem } from '../core/modeCondition';
import { OFF_MODE } from '../core/modeTracker';
import { ProblemList, Redactions, type ConfigPath } from './problems';
import type { Config, ModesConfig, StreamConfig, SubscriptionConfig } from './schema';

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `modes` a stream has: its stream entry's replaces its subscription's whole. */
export function streamModes(subscription: { readonly modes?: ModesConfig }, explicit: { readonly modes?: ModesConfig } | undefined): ModesConfig | undefined {
  return explicit?.modes ?? subscription.modes;
}

/** Every mode name a `modes` entry can produce (for labels and per-mode state), or null when unbounded (topic without values). */
export function modeNames(m: ModesConfig): string[] | null {
  if (m.when !== undefined) return [...new Set([...Object.keys(m.when), ...(m.default !== undefined ? [m.default] : [])])];
  if (m.values !== undefined) return [...new Set(Object.values(m.values))];
  return null;
}

/** The template names a topic pattern uses, in order. */
export function topicNames(topic: string): string[] {
  return [...topic.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** The problems of one `modes` entry; `channels` undefined: not known before the models load (checked then). */
export function checkModes(config: Config, sub: SubscriptionConfig, m: ModesConfig, channels: readonly string[] | undefined, at: ConfigPath, problems: ProblemList): void {
  const where = (...rest: (string | number)[]): ConfigPath => [...at, 'modes', ...rest];
  if (m.when !== undefined && m.topic !== undefined) problems.add(where('topic'), 'give either `when` (conditions on the channels) or `topic`, not both', m.topic);
  if (m.when === undefined && m.topic === undefined) problems.add(where(), 'needs `when` (conditions on the stream\'s channels) or `topic` (a topic carrying the mode)', undefined);
  if (m.when !== undefined) {
    if (m.default === undefined) problems.add(where('default'), 'is required with `when`: the mode of a sample no condition holds for', undefined);
    if (channels !== undefined) for (const [mode, text] of Object.entries(m.when)) conditionProblem(text, channels, where('when', mode), problems);
  } else if (m.default !== undefined) problems.add(where('default'), 'only applies with `when`', m.default);
  if (m.topic === undefined) {
    if (m.field !== undefined) problems.add(where('field'), 'only applies with `topic`', m.field);
    if (m.values !== undefined) problems.add(where('values'), 'only applies with `topic`', m.values);
  } else {
    checkModeTopic(sub, m.topic, where('topic'), problems);
    // Mode topics are routed before data: one that takes a data subscription's messages would starve it.
    const modeFilter = m.topic.replace(PLACEHOLDER, '+');
    config.subscriptions.forEach((other, j) => {
      const dataExample = other.topic.replace(/^\$share\/[^/]*\//, '').replace(/(^|\/)[+#](?=\/|$)/g, '$1x');
      if (filterMatches(modeFilter, dataExample)) {
        problems.add(where('topic'), `is also matched by subscriptions[${j}].topic (${other.topic}): its data messages would be taken as mode messages; give the mode its own topic`, m.topic);
      }
    });
  }
  for (const [mode, model] of Object.entries(m.models ?? {})) {
    if (mode === OFF_MODE) problems.add(where('models', mode), 'names a model for the mode `off`, in which nothing is scored', model);
    else if (model !== 'auto' && !Object.prototype.hasOwnProperty.call(config.models, model)) {
      const known = Object.keys(config.models);
      problems.add(where('models', mode), `names no model; use "auto" or one of: ${known.length > 0 ? known.join(', ') : '(no models configured)'}`, model);
    }
    const names = modeNames(m);
    if (names !== null && !names.includes(mode)) problems.add(where('models', mode), `is not a mode this entry produces (${names.join(', ')})`, model);
  }
}

/** Whether the MQTT filter `filter` matches `topic` (`+` one level, `#` the rest). */
function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

function conditionProblem(text: string, channels: readonly string[], at: ConfigPath, problems: ProblemList): void {
  const problem = modeConditionProblem(text, channels);
  if (problem !== null) problems.add(at, `condition ${problem}`, text);
}

/**
 * The mode topic is subscribed with each {name} as `+`; its names must be the subscription template's, and
 * must include every name the stream id is built from, so a mode message names exactly one stream.
 */
function checkModeTopic(sub: SubscriptionConfig, topic: string, at: ConfigPath, problems: ProblemList): void {
  const levels = topic.split('/');
  if (levels.some((l) => l.includes('+') || l.includes('#'))) {
    problems.add(at, 'must not contain wildcards; name the levels with the subscription template\'s names, e.g. plant/{line}/{asset}/state', topic);
    return;
  }
  if (levels.some((l) => /[{}]/.test(l) && !/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(l))) {
    problems.add(at, 'must use a {name} for a whole level', topic);
    return;
  }
  const own = new Set(topicNames(sub.template ?? ''));
  const used = topicNames(topic);
  for (const name of used) if (!own.has(name)) problems.add(at, `uses {${name}}, which the subscription template does not name (${[...own].join(', ') || 'no template'})`, topic);
  const streamNames = topicNames(sub.stream);
  if (streamNames.includes('topic')) problems.add(at, 'cannot be used with a stream id built from {topic}: the stream of a mode message could not be known', topic);
  for (const name of streamNames) if (name !== 'topic' && !used.includes(name)) problems.add(at, `must name {${name}}: the stream id (${sub.stream}) is built from it`, topic);
}

/**
 * The checks that need a stream's channels where a model gives them (run once the models load and their
 * channels are written into the config): conditions against the channels now known. `subscriptionOf` gives the
 * index of the subscription producing a stream entry (-1: none). Returns `path: message (got value)` lines.
 */
export function modeShapeProblems(config: Config, stated: Config, subscriptionOf: (stream: string) => number): string[] {
  const list = new ProblemList(new Redactions());
  config.subscriptions.forEach((sub, i) => {
    // Channels the file states were checked with the rest of the file (semantic.ts).
    if (sub.modes?.when === undefined || sub.channels === undefined || stated.subscriptions[i]?.channels !== undefined) return;
    for (const [mode, text] of Object.entries(sub.modes.when)) conditionProblem(text, sub.channels, ['subscriptions', i, 'modes', 'when', mode], list);
  });
  config.streams.forEach((stream: StreamConfig, j) => {
    if (stream.modes?.when === undefined || stream.channels !== undefined) return;
    const i = subscriptionOf(stream.id);
    if (stated.subscriptions[i]?.channels !== undefined) return;
    const channels = config.subscriptions[i]?.channels;
    if (channels === undefined) return;
    for (const [mode, text] of Object.entries(stream.modes.when)) conditionProblem(text, channels, ['streams', j, 'modes', 'when', mode], list);
  });
  return list.toArray();
}
