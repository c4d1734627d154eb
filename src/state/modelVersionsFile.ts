// The model version index, state_dir/model_versions/index.json: per model, which version is live, which one
// runs in shadow (and since when), the earlier live versions a rollback returns to, and every stored version's
// manifest. A promotion is written here (tmp + fsync + rename) before the API answers, so it survives a
// restart and kill -9. A damaged index is set aside and reported (state/jsonStateFile.ts): the daemon then starts
// with every model on its configured artifact (v1), and the stored versions stay on disk for an operator.
import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Log } from '../core/context';
import { loadJsonState } from './jsonStateFile';
import { writeAtomic } from './stateStore';

export const MODEL_VERSIONS_DIR = 'model_versions';
export const VERSION_INDEX_FILE = 'index.json';
/** The manifest beside each stored version's artifact. */
export const VERSION_MANIFEST_FILE = 'version.json';
const FORMAT = 1;

/** How a version came to be: the configured or learned artifact (v1), or a retrain's trigger. */
export type VersionOrigin = 'configured' | 'learned' | 'schedule' | 'drift' | 'operator';
const ORIGINS: readonly VersionOrigin[] = ['configured', 'learned', 'schedule', 'drift', 'operator'];

/** What the store keeps of one version (v2 and later; v1 is described from its artifact's manifest). */
export interface VersionRecord {
  readonly version: string;
  readonly createdAt: number;
  readonly trigger: VersionOrigin;
  /** The stream whose data trained it. */
  readonly stream: string;
  /** SHA-256 of the training windows (hex). */
  readonly dataHash: string;
  readonly windows: number;
  /** The period of the training data (ms). */
  readonly from: number;
  readonly to: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** Where the candidate was handed over from (the store holds its own copy). */
  readonly sourceDir: string;
}

/**
 * What the shadow counted, saved with the index every minute and at a clean stop, so the judge's period runs on
 * across restarts (a kill -9 loses at most the last minute's counts). Would-be episodes: the newest 1,000.
 */
export interface ShadowStats {
  readonly version: string;
  readonly since: number;
  readonly windows: number;
  readonly dropped: number;
  readonly liveEpisodes: number;
  readonly episodes: readonly { readonly stream: string; readonly start: number; readonly end: number | null }[];
  /** When these counts were taken: an episode still open then is closed there on restore. */
  readonly at: number;
}

export interface ModelVersionState {
  live: string;
  shadow: string | null;
  /** When the shadow started (ms); null without one. */
  shadowSince: number | null;
  /** Earlier live versions, oldest first: a rollback returns to the last. */
  history: string[];
  /** The number of the next version id. */
  next: number;
  /** Stored versions (v2 and later). */
  versions: VersionRecord[];
  /** The shadow's counts when last saved (absent: none saved yet). */
  shadowStats?: ShadowStats;
}

export type VersionIndex = Map<string, ModelVersionState>;

export class ModelVersionsFile {
  readonly dir: string;
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly log: Log,
  ) {
    this.dir = path.join(stateDir, MODEL_VERSIONS_DIR);
    this.file = path.join(this.dir, VERSION_INDEX_FILE);
  }

  load(): Promise<VersionIndex> {
    return loadJsonState<VersionIndex>(
      this.file,
      parseIndex,
      new Map<string, ModelVersionState>(),
      this.log,
      'The model version index is damaged; every model starts on its configured artifact (v1), stored versions stay on disk (kept the file aside).',
    );
  }

  async save(index: VersionIndex): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeAtomic(this.file, JSON.stringify({ format: FORMAT, models: Object.fromEntries(index) }, null, 1) + '\n');
  }
}

const VERSION_ID = /^v[1-9][0-9]{0,8}$/;

export function isVersionId(v: unknown): v is string {
  return typeof v === 'string' && VERSION_ID.test(v);
}

/** The index read back; throws on anything that is not one (the file is then set aside). */
export function parseIndex(json: unknown): VersionIndex {
  const parsed = json as { format?: unknown; models?: unknown };
  if (typeof parsed !== 'object' || parsed === null || parsed.format !== FORMAT) throw new Error(`unexpected content (format ${String(parsed?.format)})`);
  const models = parsed.models;
  if (typeof models !== 'object' || models === null || Array.isArray(models)) throw new Error('models: must be an object');
  const out: VersionIndex = new Map();
  for (const [name, raw] of Object.entries(models as Record<string, unknown>)) out.set(name, parseModel(name, raw));
  return out;
}

function parseModel(name: string, raw: unknown): ModelVersionState {
  const fail = (what: string): never => {
    throw new Error(`models.${name}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('must be an object');
  const m = raw as Record<string, unknown>;
  if (!isVersionId(m['live'])) fail('live: not a version id');
  if (!(m['shadow'] === null || isVersionId(m['shadow']))) fail('shadow: not a version id');
  if (!(m['shadowSince'] === null || typeof m['shadowSince'] === 'number')) fail('shadowSince: not a time');
  if (!Array.isArray(m['history']) || !m['history'].every(isVersionId)) fail('history: not a list of version ids');
  if (!Number.isSafeInteger(m['next']) || (m['next'] as number) < 2) fail('next: not a version number');
  if (!Array.isArray(m['versions'])) fail('versions: not a list');
  const versions = (m['versions'] as unknown[]).map((v, i) => parseRecord(v) ?? fail(`versions[${i}]: not a version record`));
  const known = new Set(['v1', ...versions.map((v) => v.version)]);
  const named = [m['live'] as string, ...(m['shadow'] === null ? [] : [m['shadow'] as string]), ...(m['history'] as string[])];
  for (const v of named) if (!known.has(v)) fail(`${v} is not a stored version`);
  const stats = m['shadowStats'] === undefined ? undefined : parseStats(m['shadowStats']);
  return {
    live: m['live'] as string,
    shadow: m['shadow'] as string | null,
    shadowSince: m['shadowSince'] as number | null,
    history: [...(m['history'] as string[])],
    next: m['next'] as number,
    versions,
    // Counts that do not read back are dropped, not the index: the shadow counts afresh.
    ...(stats ? { shadowStats: stats } : {}),
  };
}

function parseStats(v: unknown): ShadowStats | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!isVersionId(r['version']) || !num(r['since']) || !num(r['windows']) || !num(r['dropped']) || !num(r['liveEpisodes']) || !num(r['at']) || !Array.isArray(r['episodes'])) return undefined;
  const episodes: ShadowStats['episodes'][number][] = [];
  for (const e of r['episodes'] as unknown[]) {
    const x = e as Record<string, unknown> | null;
    if (typeof x !== 'object' || x === null || typeof x['stream'] !== 'string' || !num(x['start']) || !(x['end'] === null || num(x['end']))) return undefined;
    episodes.push({ stream: x['stream'], start: x['start'], end: x['end'] });
  }
  return { version: r['version'], since: r['since'], windows: r['windows'], dropped: r['dropped'], liveEpisodes: r['liveEpisodes'], episodes, at: r['at'] };
}

function parseRecord(v: unknown): VersionRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const str = (x: unknown): x is string => typeof x === 'string';
  if (!isVersionId(r['version']) || !num(r['createdAt']) || !ORIGINS.includes(r['trigger'] as VersionOrigin)) return null;
  if (!str(r['stream']) || !str(r['dataHash']) || !num(r['windows']) || !num(r['from']) || !num(r['to']) || !str(r['sourceDir'])) return null;
  const metrics = r['metrics'];
  if (typeof metrics !== 'object' || metrics === null || !Object.values(metrics).every(num)) return null;
  return {
    version: r['version'], createdAt: r['createdAt'], trigger: r['trigger'] as VersionOrigin, stream: r['stream'], dataHash: r['dataHash'],
    windows: r['windows'], from: r['from'], to: r['to'], metrics: { ...(metrics as Record<string, number>) }, sourceDir: r['sourceDir'],
  };
}
