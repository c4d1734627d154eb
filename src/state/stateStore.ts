// The daemon's persistent state: the alert sequence counter, each stream's alert state machine and its
// stall and sensor checks (`checks`), so a restart neither pages again for alerts already sent nor loses a resolve; with checkpoints enabled (the
// daemon), also each stream's window buffer and the sample journal (sampleJournal.ts), so samples acknowledged
// before a kill -9 are scored after the restart on the same window grid.
//
// A checkpoint is one synchronous cut: the pipeline scores what is queued and hands over its window buffers,
// the alert state is copied, and the journal starts a new generation, all in one tick. Then, asynchronously and
// atomically (temp file, fsync, rename): streams-<generation>.bin and the files of the checkpoint parts (the
// score filters' log, filterCheckpoint.ts), then state.json naming that generation; only after that are older
// journals and stream files deleted, and the parts told to drop what they no longer need. Written whenever
// something changed, at most every `intervalMs`, and at stop.
import { errorMessage } from '../core/errors';
import { open, readFile, readdir, rename, mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { ComponentContext } from '../core/context';
import { tmpNameFor } from '../core/tmpName';
import type { StreamCheckpoint, StreamSnapshot } from '../core/streamCheckpoint';
import type { StreamSamples } from '../core/source';
import { decodeStreams, StreamsEncoder } from './sampleCodec';
import { SampleJournal } from './sampleJournal';

export const STATE_FORMAT = 1;

export interface PersistedState {
  readonly format: number;
  readonly sequence: number;
  readonly alerts: Readonly<Record<string, unknown>>;
  readonly savedAt: string;
  /** The journal generation this checkpoint pairs with (streams-<journal>.bin); absent before checkpoints. */
  readonly journal?: number;
  /** Per stream: the stall detector's and sensor checks' state (absent in files written before they were kept). */
  readonly checks?: Readonly<Record<string, unknown>>;
}

/** What a start found to continue from: saved stream state and the journal written after it. */
export interface StreamRecovery {
  readonly streams: ReadonlyMap<string, StreamSnapshot>;
  readonly batches: readonly StreamSamples[];
  /** Damaged journal or stream records (skipped). */
  readonly damaged: number;
}

/** Hands every stream's checkpoint to `add` (Pipeline.checkpoint), synchronously. */
export type StreamCapture = (add: (stream: string, checkpoint: StreamCheckpoint) => void) => void;

/**
 * State a component keeps beside each stream checkpoint in files of its own (the score filters' log, see
 * filterCheckpoint.ts): captured in the checkpoint's cut, written before state.json names the checkpoint, and
 * told when state.json names it (a checkpoint whose write fails is never named).
 */
export interface CheckpointPart {
  /** Synchronously, in the checkpoint's cut (after the stream capture and the journal's switch to `generation`). */
  capture(generation: number): CheckpointPartWrite;
}

export interface CheckpointPartWrite {
  /** Writes this checkpoint's files, each atomically (writeAtomic). */
  write(): Promise<void>;
  /** state.json names this checkpoint now (called right after it is written). */
  named(): void;
  /** After named(): deletes what neither this checkpoint nor one captured after it needs. */
  removeStale(): Promise<void>;
}

const STREAMS_RE = /^streams-(\d+)\.bin$/;

export class StateStore {
  private sequence = 0;
  /**
   * Per stream, the JSON text of its alert and check snapshots: serialised once when they change, so a
   * checkpoint of 1,000 mostly unchanged streams joins strings instead of copying and stringifying every object
   * again (and one string a stream is fewer objects to keep than the snapshot objects).
   */
  private readonly alerts = new Map<string, string>();
  private readonly checks = new Map<string, string>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** A checkpoint is being written (from its capture until its older journals are deleted). */
  private writing = false;
  /**
   * The stream checkpoint's encode buffer, reused by every checkpoint (~12 MB at 10,000 streams). A new one
   * each time left a 12 MB block every interval for the GC to find, and the allocator kept about twice that.
   */
  private encodeBuffer: Buffer | undefined;
  /** The size of the last stream checkpoint: a new buffer starts there, not at a size it would double from. */
  private lastEncodedBytes = 64 * 1024;
  /** state.json's buffer, reused like encodeBuffer. */
  private stateBuffer: Buffer | undefined;
  private lastStateBytes = 16 * 1024;
  private journalFrom = 0;

  private capture: StreamCapture | null = null;
  /** More state written with each stream checkpoint, by name (addCheckpointPart). */
  private readonly parts = new Map<string, CheckpointPart>();
  /** Resolves once the sinks hold safe (written, spooled, in the outbox) what was accepted before the call. */
  private settled: () => Promise<void> = () => Promise.resolve();
  private failing = false;
  /** Set while the last write failed (null = fine): the daemon pauses ingestion on a full disk. */
  onWriteProblem: (problem: string | null) => void = () => undefined;
  readonly file: string;
  readonly journal: SampleJournal;

  constructor(
    private readonly ctx: ComponentContext,
    stateDir: string,
    private readonly intervalMs = 2000,
  ) {
    this.file = path.join(stateDir, 'state.json');
    this.journal = new SampleJournal(path.join(stateDir, 'journal'));
  }

  /** Load the previous state; a missing file is a first start, a corrupt one is set aside and reported. */
  async start(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    let text: string | null = null;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== null) await this.load(text);
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }

  private async load(text: string): Promise<void> {
    try {
      const state = JSON.parse(text) as Partial<PersistedState>;
      if (state.format !== STATE_FORMAT || typeof state.sequence !== 'number' || typeof state.alerts !== 'object' || state.alerts === null) {
        throw new Error(`unexpected content (format ${String(state.format)})`);
      }
      this.sequence = state.sequence;
      for (const [stream, snapshot] of Object.entries(state.alerts)) keepJson(this.alerts, stream, snapshot);
      if (typeof state.checks === 'object' && state.checks !== null) for (const [stream, snapshot] of Object.entries(state.checks)) keepJson(this.checks, stream, snapshot);
      if (typeof state.journal === 'number' && Number.isSafeInteger(state.journal) && state.journal >= 0) this.journalFrom = state.journal;
      this.ctx.log.info('Restored alert state.', { file: this.file, streams: this.alerts.size, sequence: this.sequence });
    } catch (err) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside);
      this.ctx.log.error('State file is corrupt; starting with empty alert state (kept the file aside).', {
        file: this.file,
        aside,
        error: errorMessage(err),
      });
    }
  }

  /**
   * Turns on stream checkpoints: `capture` is called synchronously at each save and hands every stream's
   * state, with everything accepted so far included, to the function it is given. Returns what the previous run
   * left to continue from (the saved streams and the journal after them, to be delivered again before new
   * input); opens the journal.
   */
  async enableCheckpoints(capture: StreamCapture, settled: () => Promise<void> = () => Promise.resolve()): Promise<StreamRecovery> {
    this.capture = capture;
    this.settled = settled;
    const dir = path.dirname(this.file);
    let streams = new Map<string, StreamSnapshot>();
    let damaged = 0;
    if (this.journalFrom > 0) {
      const file = path.join(dir, `streams-${this.journalFrom}.bin`);
      try {
        const decoded = decodeStreams(await readFile(file));
        streams = new Map(decoded.items);
        damaged += decoded.damaged;
      } catch (err) {
        this.ctx.log.warn('Cannot read the saved window buffers; streams start new windows.', { file, error: errorMessage(err) });
      }
    }
    const replay = await this.journal.open(this.journalFrom);
    damaged += replay.damaged;
    if (replay.batches.length > 0 || streams.size > 0) {
      this.ctx.log.info('Continuing from the last checkpoint.', { streams: streams.size, journal_batches: replay.batches.length, journal_files: replay.files, damaged_records: damaged });
    }
    if (damaged > 0) this.ctx.log.warn('Skipped damaged records of the sample journal or saved windows (a write cut short by a crash).', { records: damaged });
    return { streams, batches: replay.batches, damaged };
  }

  /**
   * Captures `part` with every stream checkpoint, in the same cut (right after the stream capture, in the same
   * tick), so what it writes pairs with the window buffers, the alert state and the journal after them as they
   * do with each other (the score filters' state). A part added under a name already taken replaces it.
   */
  addCheckpointPart(name: string, part: CheckpointPart): void {
    this.parts.set(name, part);
  }

  /** The state directory (state.json, the checkpoint files). */
  get dir(): string {
    return path.dirname(this.file);
  }

  /** The generation of the checkpoint found at start (0: none, a first start or a version before checkpoints). */
  get checkpointGeneration(): number {
    return this.journalFrom;
  }

  /** Next alert sequence number: monotonic across restarts. */
  nextSequence = (): number => {
    this.sequence++;
    this.dirty = true;
    return this.sequence;
  };

  /** The alert state machine's snapshot of a stream as last saved (a fresh copy), or undefined. */
  alertSnapshot(stream: string): unknown {
    return parsed(this.alerts.get(stream));
  }

  setAlertSnapshot(stream: string, snapshot: unknown): void {
    keepJson(this.alerts, stream, snapshot);
    this.dirty = true;
  }

  /** Every stream with saved alert or check state. */
  savedStreams(): string[] {
    return [...new Set([...this.alerts.keys(), ...this.checks.keys()])];
  }

  /** The stall and sensor-check state of a stream (see bindings.ts), as last saved. */
  checkSnapshot(stream: string): unknown {
    return parsed(this.checks.get(stream));
  }

  setCheckSnapshot(stream: string, snapshot: unknown): void {
    keepJson(this.checks, stream, snapshot);
    this.dirty = true;
  }

  /** A stream no longer configured, its alerts resolved: nothing of it is carried to the next start. */
  forgetStream(stream: string): void {
    this.alerts.delete(stream);
    this.checks.delete(stream);
    this.dirty = true;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.dirty = true;
    await this.save(true);
    this.journal.close();
  }

  /**
   * Takes a checkpoint if anything changed. Older journals are deleted only once the sinks settled what they
   * produced (points written or spooled, notices in the outbox), so a crash before that replays them; at stop
   * (`final`) the sinks are stopped next and settle (or count their drops) themselves.
   */
  save(final = false): Promise<void> {
    if (!this.dirty && !this.journal.dirty) return this.saving;
    // One checkpoint in flight at a time: a tick that finds the previous one still being written skips (the next
    // tick or stop takes it). Queuing them kept a full copy of every window buffer per queued write.
    if (this.writing && !final) return this.saving;
    let streams: Buffer | null = null;
    let partWrites: CheckpointPartWrite[] = [];
    // Before checkpoints are enabled, keep naming the checkpoint found at start.
    let journal: number | undefined = this.journalFrom > 0 ? this.journalFrom : undefined;
    if (this.capture) {
      // One tick from here to the state object: the capture, the alert copy and the journal switch are one cut.
      // Each stream is encoded as the capture hands it over, into one buffer, so nothing per stream outlives it.
      // A final save can come while the previous write still reads the buffer: that one gets a new buffer.
      const encoder = new StreamsEncoder(this.writing ? undefined : this.encodeBuffer, this.lastEncodedBytes * 1.1);
      this.capture((stream, checkpoint) => encoder.add(stream, checkpoint));
      streams = encoder.done();
      this.lastEncodedBytes = streams.length;
      // The whole allocation (StreamsEncoder never returns a slice of Node's shared pool).
      if (!this.writing) this.encodeBuffer = keepable(streams);
      try {
        journal = this.journal.rotate();
      } catch (err) {
        // Without a new journal this checkpoint would not pair with one: keep the previous checkpoint.
        this.reportWrite(err as Error, 'the sample journal');
        return this.saving;
      }
      // Still the same tick as the stream capture.
      const generation = journal;
      partWrites = [...this.parts.values()].map((part) => part.capture(generation));
    }
    this.dirty = false;
    // A PersistedState, written from the per-stream texts straight into a buffer kept between checkpoints (as
    // the stream checkpoint's): joined into one string (~3 MB at 10,000 alerting streams) it was a large-object
    // string plus a Buffer copy per checkpoint, and collecting the pieces first kept them all alive long enough
    // to be promoted to the old generation.
    const out = new TextOut(this.writing ? undefined : this.stateBuffer, this.lastStateBytes * 1.1);
    out.write(`{"format":${STATE_FORMAT},"sequence":${this.sequence},"alerts":`);
    jsonObject(this.alerts, out);
    if (this.checks.size > 0) {
      out.write(',"checks":');
      jsonObject(this.checks, out);
    }
    out.write(`,"savedAt":${JSON.stringify(new Date().toISOString())}${journal !== undefined ? `,"journal":${journal}` : ''}}`);
    const state = out.done();
    this.lastStateBytes = state.length;
    if (!this.writing) this.stateBuffer = keepable(state);
    const dir = path.dirname(this.file);
    // Asked now, so it covers exactly what was accepted before the capture.
    const settled = streams && !final ? this.settled().catch(() => undefined) : Promise.resolve();
    const write = async (): Promise<void> => {
      if (streams && journal !== undefined) await writeAtomic(path.join(dir, `streams-${journal}.bin`), streams);
      for (const part of partWrites) await part.write();
      await writeAtomic(this.file, state);
      for (const part of partWrites) part.named();
      if (streams && journal !== undefined) {
        if (!final) await settled;
        await this.journal.removeBefore(journal);
        await removeStreamFiles(dir, journal);
        for (const part of partWrites) await part.removeStale();
      }
    };
    this.writing = true;
    this.saving = this.saving
      .then(write)
      .then(() => this.reportWrite(null, ''))
      .catch((err: unknown) => {
        this.dirty = true;
        this.reportWrite(err as Error, this.file);
      })
      .finally(() => {
        this.writing = false;
      });
    return this.saving;
  }

  private reportWrite(err: Error | null, what: string): void {
    if (!err) {
      if (this.failing) this.ctx.log.info('The state file is written again.', { file: this.file });
      this.failing = false;
      this.onWriteProblem(null);
      return;
    }
    const code = (err as NodeJS.ErrnoException).code;
    const problem = `${code === 'ENOSPC' ? 'Disk full: cannot' : 'Cannot'} write ${what} (${err.message})`;
    if (!this.failing) this.ctx.log.error(`${problem}; alert state and accepted samples would be lost on a crash.`, { file: this.file });
    this.failing = true;
    this.onWriteProblem(problem);
  }
}

/**
 * The whole allocation behind `encoded`, to reuse for the next checkpoint, unless growing by doubling left it
 * far larger than what it holds (a checkpoint that outgrew its buffer, e.g. after streams were added): then
 * nothing, and the next checkpoint starts a buffer a little larger than this one (20 MB kept for 13 MB at
 * 10,000 streams otherwise).
 */
function keepable(encoded: Buffer): Buffer | undefined {
  return encoded.buffer.byteLength > encoded.length * 1.5 ? undefined : Buffer.from(encoded.buffer);
}

/** Keeps `value` as JSON text under `key` (a value JSON cannot express, undefined, is dropped). */
function keepJson(map: Map<string, string>, key: string, value: unknown): void {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) map.delete(key);
  else map.set(key, text);
}

function parsed(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

/** Writes a JSON object from keys and the JSON texts of their values. */
function jsonObject(map: ReadonlyMap<string, string>, out: TextOut): void {
  let sep = '{';
  for (const [key, text] of map) {
    out.write(sep);
    out.writeJsonString(key);
    out.write(':');
    out.write(text);
    sep = ',';
  }
  out.write(sep === '{' ? '{}' : '}');
}

/**
 * UTF-8 text appended to a buffer: `into` when given, growing by doubling into buffers of its own that are never
 * slices of Node's shared pool (the caller reuses all of the memory of the buffer returned).
 */
class TextOut {
  private buf: Buffer;
  private at = 0;

  constructor(into: Buffer | undefined, expectedBytes: number) {
    this.buf = into ?? Buffer.allocUnsafeSlow(Math.max(Math.ceil(expectedBytes), 64));
  }

  write(text: string): void {
    // At most 3 bytes per UTF-16 unit: room checked without measuring the string first.
    if (this.at + text.length * 3 > this.buf.length) this.grow(text.length * 3);
    this.at += this.buf.write(text, this.at, 'utf8');
  }

  /** `text` as a JSON string literal; stream ids are plain, so usually without building the escaped copy. */
  writeJsonString(text: string): void {
    if (PLAIN_JSON.test(text)) {
      this.write('"');
      this.write(text);
      this.write('"');
    } else {
      this.write(JSON.stringify(text));
    }
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + need));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

/** Characters a JSON string holds as they are (no quote, backslash, control character or surrogate, which JSON.stringify escapes). */
const PLAIN_JSON = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** Deletes stream checkpoint files other than generation `keep`. */
async function removeStreamFiles(dir: string, keep: number): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = STREAMS_RE.exec(n);
    if (m && Number(m[1]) !== keep) await rm(path.join(dir, n), { force: true });
  }
}

/** Writes `file` so that a crash leaves the old content or the new, never a torn file: temp file, fsync, rename. */
export async function writeAtomic(file: string, text: string | Buffer): Promise<void> {
  // A name of its own for every write; removed when the write fails (a full disk would otherwise leave one per try).
  const tmp = tmpNameFor(file);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
