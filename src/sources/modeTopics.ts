// Mode topics: another topic carries a stream's operating mode (a PLC's state word), e.g.
// plant/{line}/{asset}/state with names from its subscription's template. Each is subscribed with its names as
// `+`, and a message on it names one stream (built from the names like a data topic's) and one mode: the
// payload's `field` (a dotted JSON path) or the whole payload, mapped through `values`. A value that is not
// a mode is rejected like any bad message (reason unknown_mode), never taken as a mode.
import { MODE_NAME } from '../core/modeTracker';
import { compileRoute, type TopicRoute } from './topics';

export interface ModeTopicOptions {
  /** The topic with {names} from its subscription's template. */
  readonly topic: string;
  /** JSON field (dotted path) holding the mode; absent: the whole payload. */
  readonly field?: string;
  /** Raw value -> mode name; absent: the value is the mode name. */
  readonly values?: Readonly<Record<string, string>>;
  /** Only this stream (a stream entry's own `modes`); absent: every stream of the subscription but `except`. */
  readonly stream?: string;
  /** Streams that have their own `modes` (their stream entries'): not this entry's. */
  readonly except?: readonly string[];
}

export type ModeDecoded = { readonly ok: true; readonly mode: string } | { readonly ok: false; readonly reason: 'invalid_utf8' | 'invalid_json' | 'unknown_mode'; readonly detail: string };

export interface ModeTarget {
  readonly stream: string;
  readonly subscription: number;
  decode(payload: Uint8Array): ModeDecoded;
}

interface CompiledModeTopic {
  readonly subscription: number;
  readonly route: TopicRoute;
  readonly options: ModeTopicOptions;
  readonly except: ReadonlySet<string>;
}

/** The filter a mode topic is subscribed with: each {name} level as `+`. */
export function modeTopicFilter(topic: string): string {
  return topic
    .split('/')
    .map((level) => (/^\{[^{}]*\}$/.test(level) ? '+' : level))
    .join('/');
}

const TOPIC_CACHE_MAX = 20_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ModeRouter {
  private readonly compiled: CompiledModeTopic[];
  private readonly cache = new Map<string, ModeTarget | null>();

  /** `topics[i]`: the mode topics of subscription i (with its stream pattern). Throws when one does not compile. */
  constructor(topics: readonly { readonly subscription: number; readonly stream: string; readonly modes: readonly ModeTopicOptions[] }[]) {
    this.compiled = topics.flatMap((t) =>
      t.modes.map((options) => ({
        subscription: t.subscription,
        route: compileRoute({ topic: modeTopicFilter(options.topic), template: options.topic, stream: t.stream }),
        options,
        except: new Set(options.except ?? []),
      })),
    );
  }

  /** The topic filters to subscribe. */
  get filters(): string[] {
    return [...new Set(this.compiled.map((c) => c.route.filter))];
  }

  get empty(): boolean {
    return this.compiled.length === 0;
  }

  /** The stream and decoder of a mode message on `topic`, or null when it is not a mode topic. */
  resolve(topic: string): ModeTarget | null {
    const hit = this.cache.get(topic);
    if (hit !== undefined) return hit;
    const target = this.lookup(topic);
    if (this.cache.size >= TOPIC_CACHE_MAX) this.cache.clear();
    this.cache.set(topic, target);
    return target;
  }

  private lookup(topic: string): ModeTarget | null {
    for (const c of this.compiled) {
      const r = c.route.resolve(topic);
      if (r === null || !r.ok) continue;
      if (c.options.stream !== undefined ? r.stream !== c.options.stream : c.except.has(r.stream)) continue;
      const options = c.options;
      return { stream: r.stream, subscription: c.subscription, decode: (payload) => decodeMode(payload, options) };
    }
    return null;
  }
}

/** The mode a mode message names. */
export function decodeMode(payload: Uint8Array, o: ModeTopicOptions): ModeDecoded {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, reason: 'invalid_utf8', detail: 'mode payload is not UTF-8' };
  }
  let raw: string;
  if (o.field !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      return { ok: false, reason: 'invalid_json', detail: 'mode payload is not JSON' };
    }
    for (const key of o.field.split('.')) {
      value = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { ok: false, reason: 'unknown_mode', detail: `mode field '${o.field}' is missing or not a string, number or boolean` };
    }
    raw = String(value);
  } else raw = text.trim();
  if (o.values !== undefined) {
    const mode = Object.prototype.hasOwnProperty.call(o.values, raw) ? o.values[raw] : undefined;
    if (mode === undefined) return { ok: false, reason: 'unknown_mode', detail: `mode value ${JSON.stringify(raw.slice(0, 64))} is not one of modes.values (${Object.keys(o.values).join(', ')})` };
    return { ok: true, mode };
  }
  if (!MODE_NAME.test(raw)) return { ok: false, reason: 'unknown_mode', detail: `mode value ${JSON.stringify(raw.slice(0, 64))} is not a mode name (a letter, then letters, digits, "_" or "-")` };
  return { ok: true, mode: raw };
}
