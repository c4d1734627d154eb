// Topic routing: which subscription a topic belongs to and which stream id it names.
//
// A subscription has an MQTT topic filter (`plant/+/+/telemetry`), an optional template that names the wildcard
// levels (`plant/{line}/{asset}/telemetry`) and a stream pattern built from those names (`{line}/{asset}`;
// `{topic}` is the whole topic). A `#` level in the filter may be named by a `{name}` template level, which then
// captures the remaining levels joined with `/`. Without a template the wildcard levels are unnamed and the stream
// pattern can only use `{topic}`.
//
// Stream ids become metric labels, InfluxDB tags, log fields and status-page text, and the topic they come from
// is chosen by whoever can publish to the broker. So a resolved id is checked here: not empty, at most
// MAX_STREAM_ID_LENGTH characters, no empty label, no control, format (bidi overrides, zero-width) or line
// separator characters, no backslash at the end or before ",", " " or "=" (InfluxDB could not store it). Ordinary Unicode letters and spaces are allowed; stricter rules belong to the streams a
// config names explicitly.

import { errorMessage } from '../core/errors';
import { parseSharedFilter } from '../core/shard';

export const MAX_STREAM_ID_LENGTH = 128;

// Names start with a letter, so '__proto__' and friends can never be label keys.
const LABEL_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;
// Cc: C0/C1 controls and DEL; Cf: bidi overrides, zero-width joiners, BOM...; Zl/Zp: line/paragraph separators.
const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const BACKSLASH_INFLUX_CANNOT_CARRY = /\\(?=[,= ]|$)/;

export interface RouteSpec {
  /** MQTT topic filter, e.g. `plant/+/+/telemetry`, or a shared one, `$share/<group>/plant/+/+/telemetry`. */
  readonly topic: string;
  /** The filter with names for its wildcard levels, e.g. `plant/{line}/{asset}/telemetry`. */
  readonly template?: string;
  /** Stream id pattern, e.g. `{line}/{asset}`; `{topic}` is the whole topic. */
  readonly stream: string;
}

export type RouteResult =
  | { readonly ok: true; readonly stream: string; readonly labels: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly detail: string };

/** A compiled route; `resolve` returns null when the topic does not match the filter. */
export interface TopicRoute {
  readonly filter: string;
  resolve(topic: string): RouteResult | null;
}

type Level = { kind: 'literal'; text: string } | { kind: 'one' | 'rest'; label: string | null };
type Part = { kind: 'text'; text: string } | { kind: 'label'; name: string };

/** True when `topic` matches the MQTT filter (`+` one level, `#` the rest; `$` topics are not matched by a leading wildcard). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Every problem with a route spec, as messages; empty when it compiles. Config validation can reuse it. */
export function routeProblems(spec: RouteSpec): string[] {
  try {
    compileRoute(spec);
    return [];
  } catch (err) {
    return errorMessage(err).split('\n');
  }
}

/** Compiles a route; throws an Error listing every problem (one per line) when the spec is invalid. */
export function compileRoute(spec: RouteSpec): TopicRoute {
  const problems: string[] = [];
  // A shared subscription ($share/<group>/<filter>) is subscribed as written, but messages arrive on topics of
  // the plain filter: match, template and {topic} all work on that.
  const plain = parseSharedFilter(spec.topic).filter;
  const levels = parseLevels(plain, spec.template, problems);
  const labelNames = new Set(levels.flatMap((l) => (l.kind !== 'literal' && l.label ? [l.label] : [])));
  const parts = parsePattern(spec.stream, labelNames, problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  // Not memoised here: the MQTT source resolves each topic once and caches the result (topicRouter.ts).
  return {
    filter: spec.topic,
    resolve: (topic) => (topicMatches(plain, topic) ? buildStream(levels, parts, topic) : null),
  };
}

function parseLevels(filter: string, template: string | undefined, problems: string[]): Level[] {
  const f = filter.split('/');
  f.forEach((level, i) => {
    if (level === '#' && i !== f.length - 1) problems.push(`topic '${filter}': '#' must be the last level`);
    else if (level !== '#' && level !== '+' && /[+#]/.test(level)) problems.push(`topic '${filter}': a wildcard must fill a whole level`);
  });
  if (template === undefined) {
    return f.map((text) => (text === '+' || text === '#' ? { kind: text === '+' ? 'one' : 'rest', label: null } : { kind: 'literal', text }));
  }
  const t = template.split('/');
  if (t.length !== f.length) {
    problems.push(`template '${template}' has ${t.length} levels but topic '${filter}' has ${f.length}`);
    return [];
  }
  const seen = new Set<string>();
  return f.map((text, i): Level => {
    if (text !== '+' && text !== '#') {
      if (t[i] !== text) problems.push(`template '${template}': level ${i + 1} must be '${text}' as in the topic (got '${t[i]}')`);
      return { kind: 'literal', text };
    }
    const kind = text === '+' ? 'one' : 'rest';
    if (t[i] === text) return { kind, label: null };
    const m = /^\{(.*)\}$/.exec(t[i]);
    if (!m || !LABEL_NAME.test(m[1]) || m[1] === 'topic') {
      problems.push(`template '${template}': level ${i + 1} must be '{name}' (a letter, then letters, digits, "_"; not 'topic') for the wildcard '${text}' (got '${t[i]}')`);
      return { kind, label: null };
    }
    if (seen.has(m[1])) problems.push(`template '${template}': name '${m[1]}' is used twice`);
    seen.add(m[1]);
    return { kind, label: m[1] };
  });
}

function parsePattern(pattern: string, labels: ReadonlySet<string>, problems: string[]): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of pattern.matchAll(PLACEHOLDER)) {
    const index = m.index ?? 0;
    if (index > last) parts.push({ kind: 'text', text: pattern.slice(last, index) });
    const name = m[1];
    if (name !== 'topic' && !labels.has(name)) {
      const known = ['topic', ...labels].map((n) => `{${n}}`).join(', ');
      problems.push(`stream '${pattern}': '{${name}}' is not a template name (known: ${known})`);
    }
    parts.push({ kind: 'label', name });
    last = index + m[0].length;
  }
  if (last < pattern.length) parts.push({ kind: 'text', text: pattern.slice(last) });
  if (parts.some((p) => p.kind === 'text' && /[{}]/.test(p.text))) problems.push(`stream '${pattern}': unbalanced '{' or '}'`);
  return parts;
}

function buildStream(levels: readonly Level[], parts: readonly Part[], topic: string): RouteResult {
  const t = topic.split('/');
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.kind === 'literal' || level.label === null) continue;
    const value = level.kind === 'rest' ? t.slice(i).join('/') : t[i];
    if (value === undefined || value === '') return { ok: false, detail: `topic level for '{${level.label}}' is empty` };
    labels[level.label] = value;
  }
  const stream = parts.map((p) => (p.kind === 'text' ? p.text : p.name === 'topic' ? topic : labels[p.name])).join('');
  const problem = streamIdProblem(stream);
  if (problem) return { ok: false, detail: problem };
  return { ok: true, stream, labels: { ...labels } };
}

/** Why a stream id is unsafe, or null when it is fine. */
export function streamIdProblem(id: string): string | null {
  if (id.length === 0) return 'stream id is empty';
  if (id.length > MAX_STREAM_ID_LENGTH) return `stream id is longer than ${MAX_STREAM_ID_LENGTH} characters (${id.length})`;
  if (UNSAFE_CHARS.test(id)) return 'stream id contains a control, format or line separator character';
  // InfluxDB 1.x line protocol has no escape for a backslash: one at the end of a tag value escapes the separator
  // after it, and one before an escaped ",", " " or "=" makes the line splitter misread the line (with a '"' in
  // the id, the next line is joined to it and both are refused). Anywhere else a backslash is fine
  // (sinks/influx/escape.ts).
  if (BACKSLASH_INFLUX_CANNOT_CARRY.test(id)) return 'stream id has a backslash at its end or before ",", " " or "=" (InfluxDB cannot store it as a tag)';
  return null;
}
