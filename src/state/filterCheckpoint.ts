// The score filters' state in the checkpoint (filters-<generation>.json beside streams-<generation>.bin, see
// stateStore.ts addPairedFile): each stream's anomaly likelihood (its score history, the range check's seen
// range, the windows since its last detection), taken in the same cut as the window buffers and the alert
// state. A restarted daemon whose filters started afresh judged samples of an excursion it had already reported
// (queued in the broker's session, or replayed from the journal after kill -9) against the learning range alone
// and paged again, and, its likelihood learning again, scored the next windows 0 and resolved an alert whose
// fault went on.
//
// JSON, one entry per stream; the score arrays as base64 of their float64 bytes (exact, and a third of the size
// of decimal text: a likelihood keeps up to history_windows scores per time scale).
import type { Log } from '../core/context';
import type { ScoreFilterState, StreamScoreFilter } from '../core/scoreFilter';
import type { StateStore } from './stateStore';

export const FILTERS_FILE_PREFIX = 'filters';
const FORMAT = 1;

interface EncodedState {
  /** Windows since the last detection (null: none). */
  readonly s: number | null;
  /** Seen range: [lo, hi], base64 float64 per channel. */
  readonly r?: readonly [string, string];
  /** Per time scale: [history, recent, running sums], base64 float64, oldest first. */
  readonly h: readonly (readonly [string, string, string?])[];
}

/** Encodes every stream's filter state handed to `add`'s caller into one file's bytes. */
export function encodeFilterStates(each: (add: (stream: string, state: ScoreFilterState) => void) => void): Buffer {
  const parts: string[] = [];
  each((stream, state) => parts.push(entryText(stream, state)));
  return fileBytes(parts);
}

function fileBytes(entries: readonly string[]): Buffer {
  return Buffer.from(`{"format":${FORMAT},"filters":{${entries.join(',')}}}`, 'utf8');
}

/** One stream's entry of the file: `"<stream>":{...}`. */
function entryText(stream: string, state: ScoreFilterState): string {
  const e: EncodedState = {
    s: state.sinceDetection,
    ...(state.range ? { r: [b64(state.range.lo), b64(state.range.hi)] as const } : {}),
    h: state.scales.map((sc) => (sc.sums ? ([b64(sc.history), b64(sc.recent), b64(sc.sums)] as const) : ([b64(sc.history), b64(sc.recent)] as const))),
  };
  return `${JSON.stringify(stream)}:${JSON.stringify(e)}`;
}

/** The states of a file written by encodeFilterStates; entries that do not read as one are counted, not kept. */
export function decodeFilterStates(bytes: Buffer): { states: Map<string, ScoreFilterState>; damaged: number } {
  const parsed = JSON.parse(bytes.toString('utf8')) as { format?: unknown; filters?: unknown };
  if (parsed.format !== FORMAT || typeof parsed.filters !== 'object' || parsed.filters === null) {
    throw new Error(`unexpected content (format ${String(parsed.format)})`);
  }
  const states = new Map<string, ScoreFilterState>();
  let damaged = 0;
  for (const [stream, value] of Object.entries(parsed.filters as Record<string, unknown>)) {
    const state = decodeState(value);
    if (state) states.set(stream, state);
    else damaged++;
  }
  return { states, damaged };
}

function decodeState(value: unknown): ScoreFilterState | null {
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Partial<Record<keyof EncodedState, unknown>>;
  const since = e.s;
  if (!(since === null || (typeof since === 'number' && Number.isInteger(since) && since >= 0))) return null;
  if (!Array.isArray(e.h)) return null;
  const scales: { history: Float64Array; recent: Float64Array; sums?: Float64Array }[] = [];
  for (const entry of e.h as unknown[]) {
    if (!Array.isArray(entry)) return null;
    const history = f64(entry[0]);
    const recent = f64(entry[1]);
    const sums = entry[2] === undefined ? undefined : f64(entry[2]);
    if (!history || !recent || sums === null) return null;
    scales.push({ history, recent, ...(sums ? { sums } : {}) });
  }
  let range: { lo: Float64Array; hi: Float64Array } | undefined;
  if (e.r !== undefined) {
    const lo = Array.isArray(e.r) ? f64(e.r[0]) : null;
    const hi = Array.isArray(e.r) ? f64(e.r[1]) : null;
    if (!lo || !hi || lo.length !== hi.length) return null;
    range = { lo, hi };
  }
  return { sinceDetection: since, ...(range ? { range } : {}), scales };
}

function b64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A base64 float64 array, or null when it is not one. */
function f64(v: unknown): Float64Array | null {
  if (typeof v !== 'string') return null;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length % 8 !== 0) return null;
  // Copied to an aligned buffer of its own (a Buffer may sit at any offset of Node's pool).
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * The filter states of the checkpoint found at start, each handed once to its stream's new filter when the stream
 * is bound (the streams of the state file are bound at start, see Pipeline.adopt). A later binding (a config
 * reload) does not get it again: its filter is either carried over or new for new settings.
 */
export class SavedFilterStates {
  constructor(
    private readonly states: Map<string, ScoreFilterState>,
    private readonly log: Log,
  ) {}

  /** Reads the checkpoint's filters file; a missing one is an empty set, an unreadable one is logged and skipped. */
  static async load(store: StateStore, log: Log): Promise<SavedFilterStates> {
    let states = new Map<string, ScoreFilterState>();
    try {
      const bytes = await store.readPairedFile(FILTERS_FILE_PREFIX);
      if (bytes) {
        const decoded = decodeFilterStates(bytes);
        states = decoded.states;
        if (decoded.damaged > 0) log.warn('Skipped unreadable score filter states of the last checkpoint; those streams judge their scores afresh.', { streams: decoded.damaged });
      }
    } catch (err) {
      log.warn('Cannot read the score filter states of the last checkpoint; streams judge their scores afresh.', { error: (err as Error).message });
    }
    return new SavedFilterStates(states, log);
  }

  get size(): number {
    return this.states.size;
  }

  /** The stream's saved state into its new filter (once). */
  restore(stream: string, filter: StreamScoreFilter | undefined): void {
    const state = this.states.get(stream);
    if (!state) return;
    this.states.delete(stream);
    if (!filter?.restore) return;
    try {
      filter.restore(state);
    } catch (err) {
      this.log.warn('Ignoring the saved score filter state of the stream.', { stream, error: (err as Error).message });
    }
  }
}

/**
 * The checkpoint's filters file: every bound stream's filter state (Pipeline.scoreFilters), in the checkpoint's
 * cut. Each stream's entry is kept as text and encoded again only when its filter changed (a stream scores a
 * window every hop samples, most checkpoints come between): encoding them all was ~0.24 s of the event loop per
 * checkpoint at 1,000 auto-learned streams with full histories (864 scores on two scales, 19 MB).
 */
export class FilterStateCapture {
  private entries = new Map<string, CapturedEntry>();

  capture(each: (visit: (stream: string, filter: StreamScoreFilter) => void) => void): Buffer {
    const next = new Map<string, CapturedEntry>();
    each((stream, filter) => {
      const kept = this.entries.get(stream);
      const revision = filter.revision;
      if (kept && revision !== undefined && kept.filter === filter && kept.revision === revision) {
        next.set(stream, kept);
        return;
      }
      const state = filter.snapshot?.();
      if (state) next.set(stream, { filter, revision: revision ?? Number.NaN, bytes: Buffer.from(entryText(stream, state), 'utf8') });
    });
    this.entries = next;
    // Joined as bytes (a copy), not as text to be encoded again.
    const parts: Buffer[] = [Buffer.from(`{"format":${FORMAT},"filters":{`)];
    let first = true;
    for (const e of next.values()) {
      if (!first) parts.push(COMMA);
      parts.push(e.bytes);
      first = false;
    }
    parts.push(CLOSE);
    return Buffer.concat(parts);
  }
}

interface CapturedEntry {
  readonly filter: StreamScoreFilter;
  readonly revision: number;
  /** The stream's entry of the file, UTF-8. */
  readonly bytes: Buffer;
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from('}}');
