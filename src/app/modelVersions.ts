// Model versions: every model name has a live version, at most one shadow, and the earlier live versions a
// rollback returns to. Version ids are short and typeable: v1 is the model's own artifact (the configured
// models.<name>.path, or an auto stream's learned model under state_dir/models), referenced where it is and not
// copied, so a read-only or large artifact costs nothing and is always a rollback target; v2, v3, ... are
// candidates handed over by retraining (addCandidate), each copied into
// state_dir/model_versions/<model>/<version>/ with a version.json manifest, and kept. The index
// (state/modelVersionsFile.ts) is saved before a change is answered; the registry (models.ts) loads each model's
// live version from it at start and on reload, so a promotion survives a restart and kill -9.
//
// A candidate starts in shadow (shadow scoring: modelVersionsShadow.ts), replacing an older shadow of the same
// model. promote makes a version live at once (the model's lane takes the new detector between batches),
// rollback returns to the previous live version. Both are audited (model_promote, model_rollback) with who
// asked: an operator's token, or the retraining's automatic promotion.
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { AlertFeedback } from '../core/feedback';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import type { Detector } from '../model/detector';
import { readManifest } from '../model/artifact';
import type { Manifest } from '../model/manifest';
import { ModelVersionsFile, VERSION_MANIFEST_FILE, type ModelVersionState, type VersionIndex, type VersionRecord } from '../state/modelVersionsFile';
import type { AuditEvent } from '../telemetry/operatorApi';
import type { ModelChange, ModelJson, ModelList, ModelRefusal, ModelsActions, ModelVersionJson, ShadowJson } from '../telemetry/modelsApi';
import { learnedModelDirName } from './learnedDirs';
import { AUTO_PREFIX } from './models';
import { judgeShadow, type JudgeBounds, type ShadowVerdict } from './modelVersionsJudge';
import type { ShadowScoring } from './modelVersionsShadow';

export type { JudgeBounds, ShadowVerdict } from './modelVersionsJudge';

export const BASE_VERSION = 'v1';
/** Earlier live versions kept for rollback. */
const MAX_HISTORY = 20;
/** Learned models with nothing but v1 that GET /api/v1/models lists (the rest are counted). */
const LISTED_LEARNED = 100;
/** How often the shadows' counts are saved with the index (and at a clean stop). */
const STATS_SAVE_MS = 60_000;

/** What retraining says about a candidate it hands over. */
export interface CandidateMeta {
  readonly trigger: 'schedule' | 'drift' | 'operator';
  /** The stream whose retrain produced it. */
  readonly stream: string;
  /** SHA-256 of the training windows (hex). */
  readonly dataHash: string;
  /** Training windows used. */
  readonly windows: number;
  /** The period of the training data (ms). */
  readonly from: number;
  readonly to: number;
  /** e.g. epochs, final loss, threshold, seconds. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** One version of a model, as addCandidate returns it and the API lists it. */
export type VersionInfo = ModelVersionJson & { readonly model: string };

/** What the store needs of the running daemon; a store opened offline (a test, a tool) gives only the first three. */
export interface VersionRuntime {
  /** The model's v1 artifact directory; undefined for a model this daemon does not know. */
  baseDir(model: string): string | undefined;
  /** Loads a version's artifact (v1 with the configured fixed threshold, if any). */
  load(model: string, version: string, dir: string): Promise<Detector>;
  /** The model's live detector, when loaded (a candidate must take the same windows). */
  live(model: string): Detector | undefined;
  /** Makes a loaded detector the model's live one (registry and scoring lane). */
  install?(model: string, version: string, dir: string, detector: Detector): void;
  readonly shadow?: ShadowScoring;
  /** The operators' labels of alert episodes (the judge's agreement). */
  labels?(): readonly AlertFeedback[];
  /** The models the daemon runs (listed even before any version of theirs is stored). */
  names?(): readonly string[];
}

export interface ModelVersionsOptions {
  readonly stateDir: string;
  readonly log: Log;
  readonly now: () => number;
  readonly audit?: (event: AuditEvent) => void;
}

export class ModelVersions implements ModelsActions {
  private readonly file: ModelVersionsFile;
  private index: VersionIndex = new Map();
  private runtime: VersionRuntime | undefined;
  /** Changes run one after another: each reads the index the one before it saved. */
  private queue: Promise<unknown> = Promise.resolve();
  private statsTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ModelVersionsOptions) {
    this.file = new ModelVersionsFile(o.stateDir, o.log);
  }

  /** Reads the index (a damaged one is set aside: every model on v1). */
  async load(): Promise<void> {
    this.index = await this.file.load();
  }

  /** The runtime that loads and installs versions (the daemon's, once its registry and pipeline exist). */
  attach(runtime: VersionRuntime): void {
    this.runtime = runtime;
  }

  /** The model's live version other than v1 and where it is: what the registry loads instead of the artifact. */
  liveOf(model: string): { version: string; dir: string } | undefined {
    const s = this.index.get(model);
    if (!s || s.live === BASE_VERSION) return undefined;
    return { version: s.live, dir: this.versionDir(model, s.live) };
  }

  liveVersion(model: string): string {
    return this.index.get(model)?.live ?? BASE_VERSION;
  }

  shadowVersion(model: string): string | null {
    return this.index.get(model)?.shadow ?? null;
  }

  /**
   * At start, once attached: each saved shadow is loaded into its lane and goes on from its saved counts (one
   * that does not load is reported and not scored); from then on the counts are saved every minute.
   */
  async startShadows(): Promise<void> {
    for (const [model, s] of this.index) {
      if (s.shadow === null || !this.runtime?.shadow || this.runtime.baseDir(model) === undefined) continue;
      try {
        const detector = await this.runtime.load(model, s.shadow, this.versionDir(model, s.shadow));
        this.runtime.shadow.set(model, s.shadow, detector, s.shadowSince ?? this.o.now(), s.shadowStats);
      } catch (err) {
        this.o.log.error('The shadow version of the model does not load; it is not scored.', { model, version: s.shadow, error: errorMessage(err) });
      }
    }
    this.statsTimer = setInterval(() => void this.saveShadowStats(), STATS_SAVE_MS);
    this.statsTimer.unref();
  }

  /** Saves the shadows' counts a last time (call after the shadow lanes drained). */
  async stop(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    await this.saveShadowStats();
  }

  /** The shadows' counts into the index, when they changed since the last save (a failure is logged: counts only). */
  saveShadowStats(): Promise<void> {
    return this.serial(async () => {
      const shadow = this.runtime?.shadow;
      if (!shadow) return;
      const next = new Map(this.index);
      let changed = false;
      for (const [model, s] of this.index) {
        const stats = s.shadow === null ? undefined : shadow.stats(model);
        if (!stats || stats.version !== s.shadow) continue;
        const was = s.shadowStats;
        if (was && was.windows === stats.windows && was.liveEpisodes === stats.liveEpisodes && was.dropped === stats.dropped && was.since === stats.since) continue;
        next.set(model, { ...s, shadowStats: stats });
        changed = true;
      }
      if (!changed) return;
      try {
        await this.file.save(next);
        this.index = next;
      } catch (err) {
        this.o.log.warn('Cannot save the shadow models\' counts; they are kept in memory and saved again in a minute.', { file: this.file.file, error: errorMessage(err) });
      }
    });
  }

  /**
   * Takes a trained candidate into the store: copies `dir` to the model's next version, checks it loads and
   * takes the live model's windows, and starts it in shadow (replacing an older shadow). Throws when the model
   * is unknown or the candidate does not fit.
   */
  addCandidate(model: string, dir: string, meta: CandidateMeta): Promise<VersionInfo> {
    return this.serial(() => this.doAddCandidate(model, dir, meta));
  }

  promote(model: string, version: string | undefined, who: string): Promise<ModelChange | ModelRefusal> {
    return this.serial(() => this.doPromote(model, version, who));
  }

  rollback(model: string, who: string): Promise<ModelChange | ModelRefusal> {
    return this.serial(() => this.doRollback(model, who));
  }

  /** The judge's verdict on the model's shadow (null without one): see modelVersionsJudge.ts. */
  judgeShadow(model: string, bounds: JudgeBounds): ShadowVerdict | null {
    const record = this.runtime?.shadow?.record(model);
    if (!record) return null;
    return judgeShadow(record, this.runtime?.labels?.() ?? [], bounds, this.o.now());
  }

  /**
   * Every configured model and every model the index knows; of the models auto streams learned that have nothing
   * but v1, the first LISTED_LEARNED (10,000 auto streams are 10,000 models), the rest only counted.
   */
  async list(): Promise<ModelList> {
    const names = new Set(this.index.keys());
    const plain: string[] = [];
    for (const name of this.runtime?.names?.() ?? []) {
      if (name.startsWith(AUTO_PREFIX) && !names.has(name)) plain.push(name);
      else names.add(name);
    }
    plain.sort();
    for (const name of plain.slice(0, LISTED_LEARNED)) names.add(name);
    const models: ModelJson[] = [];
    for (const name of [...names].sort()) models.push(await this.modelJson(name));
    return { models, learnedNotListed: Math.max(0, plain.length - LISTED_LEARNED) };
  }

  /**
   * anomalyd_model_version_info: one sample per model's live version (as `running` says it runs) and shadow;
   * learned models with only v1 are left out (one series per auto stream would say v1 10,000 times).
   */
  infoSamples(models: readonly string[], running: (model: string) => string): { labels: { model: string; version: string; role: string }; value: number }[] {
    return models.filter((m) => !m.startsWith(AUTO_PREFIX) || this.index.has(m)).flatMap((model) => {
      const shadow = this.runtime?.shadow?.versionOf(model);
      return [
        { labels: { model, version: running(model), role: 'live' }, value: 1 },
        ...(shadow !== undefined ? [{ labels: { model, version: shadow, role: 'shadow' }, value: 1 }] : []),
      ];
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => undefined).then(task);
    this.queue = run;
    return run;
  }

  private stateOf(model: string): ModelVersionState {
    return this.index.get(model) ?? { live: BASE_VERSION, shadow: null, shadowSince: null, history: [], next: 2, versions: [] };
  }

  private modelDir(model: string): string {
    return path.join(this.file.dir, learnedModelDirName(model));
  }

  private versionDir(model: string, version: string): string {
    if (version === BASE_VERSION) return this.runtime?.baseDir(model) ?? '';
    return path.join(this.modelDir(model), version);
  }

  private async doAddCandidate(model: string, dir: string, meta: CandidateMeta): Promise<VersionInfo> {
    const runtime = this.need();
    const base = runtime.baseDir(model);
    if (base === undefined) throw new Error(`unknown model '${model}'`);
    const state = cloneState(this.stateOf(model));
    const version = `v${state.next}`;
    const target = this.versionDir(model, version);
    const tmp = `${target}.tmp-${process.pid}`;
    const record: VersionRecord = {
      version, createdAt: this.o.now(), trigger: meta.trigger, stream: meta.stream, dataHash: meta.dataHash, windows: meta.windows,
      from: meta.from, to: meta.to, metrics: { ...meta.metrics }, sourceDir: path.resolve(dir),
    };
    // Leftovers of a copy a kill interrupted (not in the index) go first.
    await mkdir(path.dirname(target), { recursive: true });
    await rm(target, { recursive: true, force: true });
    for (const name of await readdir(path.dirname(target))) {
      if (/^v[0-9]+\.tmp-[0-9]+$/.test(name)) await rm(path.join(path.dirname(target), name), { recursive: true, force: true });
    }
    await cp(dir, tmp, { recursive: true });
    await writeFile(path.join(tmp, VERSION_MANIFEST_FILE), JSON.stringify({ model, ...record }, null, 1) + '\n');
    await rename(tmp, target);
    let detector: Detector;
    try {
      detector = await runtime.load(model, version, target);
      const expected = runtime.live(model)?.manifest ?? (await readManifest(base));
      const problem = shapeProblem(expected, detector.manifest);
      if (problem) throw new Error(`the candidate does not take the live model's windows: ${problem}`);
    } catch (err) {
      await rm(target, { recursive: true, force: true });
      throw new Error(`candidate for model '${model}' from ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    const replaced = state.shadow;
    state.versions.push(record);
    state.next++;
    state.shadow = version;
    state.shadowSince = record.createdAt;
    delete state.shadowStats;
    await this.save(model, state);
    runtime.shadow?.set(model, version, detector, record.createdAt);
    this.o.log.info('Added a candidate model version; it runs in shadow.', { model, version, trigger: meta.trigger, replaced_shadow: replaced ?? undefined, dir: target });
    return { model, ...versionJson(record, target, 'shadow') };
  }

  private async doPromote(model: string, asked: string | undefined, who: string): Promise<ModelChange | ModelRefusal> {
    const runtime = this.need();
    if (runtime.baseDir(model) === undefined) return { refused: 'unknown', reason: `no model '${model}'` };
    const state = cloneState(this.stateOf(model));
    const version = asked ?? state.shadow;
    if (version === null) return { refused: 'conflict', reason: `model '${model}' has no shadow version to promote; name one with {"version": "..."}` };
    if (version !== BASE_VERSION && !state.versions.some((v) => v.version === version)) return { refused: 'unknown', reason: `model '${model}' has no version '${version}'` };
    if (version === state.live) return { refused: 'conflict', reason: `${version} is already the live version of model '${model}'` };
    const previous = state.live;
    state.history.push(previous);
    if (state.history.length > MAX_HISTORY) state.history.shift();
    state.live = version;
    const endsShadow = state.shadow === version;
    if (endsShadow) {
      state.shadow = null;
      state.shadowSince = null;
    }
    delete state.shadowStats;
    const changed = await this.switchLive(model, version, state);
    if (changed) return changed;
    if (endsShadow) runtime.shadow?.set(model, null, null);
    this.o.audit?.({ who, action: 'model_promote', target: model, detail: `${version} live (was ${previous})` });
    return { model, live: version, previous };
  }

  private async doRollback(model: string, who: string): Promise<ModelChange | ModelRefusal> {
    if (this.need().baseDir(model) === undefined) return { refused: 'unknown', reason: `no model '${model}'` };
    const state = cloneState(this.stateOf(model));
    const version = state.history.pop();
    if (version === undefined) return { refused: 'conflict', reason: `model '${model}' has no earlier live version to roll back to (live: ${state.live})` };
    const previous = state.live;
    state.live = version;
    delete state.shadowStats;
    const changed = await this.switchLive(model, version, state);
    if (changed) return changed;
    this.o.audit?.({ who, action: 'model_rollback', target: model, detail: `${version} live (was ${previous})` });
    return { model, live: version, previous };
  }

  /** Loads the version, saves `state`, then installs it: a refusal when it does not load (nothing changes then). */
  private async switchLive(model: string, version: string, state: ModelVersionState): Promise<ModelRefusal | null> {
    const runtime = this.need();
    const dir = this.versionDir(model, version);
    let detector: Detector;
    try {
      detector = await runtime.load(model, version, dir);
    } catch (err) {
      return { refused: 'conflict', reason: `version ${version} of model '${model}' does not load: ${errorMessage(err)}` };
    }
    await this.save(model, state);
    runtime.install?.(model, version, dir, detector);
    // A shadow that stays compared itself with the old live version: its counts start again.
    if (state.shadow !== null) runtime.shadow?.restartCounts(model);
    return null;
  }

  private async save(model: string, state: ModelVersionState): Promise<void> {
    const next = new Map(this.index);
    next.set(model, state);
    await this.file.save(next);
    this.index = next;
  }

  private need(): VersionRuntime {
    if (!this.runtime) throw new Error('model versions: no runtime attached');
    return this.runtime;
  }

  private async modelJson(name: string): Promise<ModelJson> {
    const state = this.stateOf(name);
    const role = (v: string): ModelVersionJson['role'] => (v === state.live ? 'live' : v === state.shadow ? 'shadow' : null);
    const versions = [...state.versions].reverse().map((r) => versionJson(r, this.versionDir(name, r.version), role(r.version)));
    versions.push(await this.baseJson(name, role(BASE_VERSION)));
    return { name, live: state.live, shadow: this.shadowJson(name), history: [...state.history], versions };
  }

  private shadowJson(model: string): ShadowJson | null {
    const record = this.runtime?.shadow?.record(model);
    if (!record) return null;
    const v = judgeShadow(record, this.runtime?.labels?.() ?? [], { maxAlertRateRatio: Infinity, minLabelAgreement: 0, minShadowMs: 0 }, this.o.now());
    return {
      version: record.version, since: new Date(record.since).toISOString(), windows: record.windows, dropped: record.dropped,
      would_be_episodes: record.episodes.length, open_episodes: record.openEpisodes, live_episodes: record.liveEpisodes,
      alert_rate_ratio: v.alertRateRatio, labelled_episodes: v.labelled, agreed: v.agreed, label_agreement: v.labelAgreement,
    };
  }

  /** v1 described from its artifact's manifest (what it says of its training). */
  private async baseJson(model: string, role: ModelVersionJson['role']): Promise<ModelVersionJson> {
    const dir = this.runtime?.baseDir(model) ?? '';
    const trigger = model.startsWith(AUTO_PREFIX) ? 'learned' : 'configured';
    let manifest: Manifest | undefined;
    try {
      manifest = this.runtime?.live(model)?.dir === dir ? this.runtime.live(model)?.manifest : await readManifest(dir);
    } catch {
      manifest = undefined;
    }
    const t = manifest?.training;
    const created = manifest ? Date.parse(manifest.createdAt) : NaN;
    const metrics: Record<string, number> = {};
    if (t) Object.assign(metrics, { epochs: t.epochsRun, final_loss: t.finalLoss });
    if (manifest?.calibration) metrics['threshold'] = manifest.calibration.threshold;
    return {
      version: BASE_VERSION, role, created_at: Number.isFinite(created) ? new Date(created).toISOString() : null, trigger,
      stream: manifest?.stream ?? '', data_hash: t?.dataSha256 ?? '', windows: t?.windows ?? null, period: null, metrics, dir,
    };
  }
}

function cloneState(s: ModelVersionState): ModelVersionState {
  return { ...s, history: [...s.history], versions: [...s.versions] };
}

function versionJson(r: VersionRecord, dir: string, role: ModelVersionJson['role']): ModelVersionJson {
  const iso = (t: number): string => new Date(t).toISOString();
  return {
    version: r.version, role, created_at: iso(r.createdAt), trigger: r.trigger, stream: r.stream, data_hash: r.dataHash, windows: r.windows,
    period: { from: iso(r.from), to: iso(r.to) }, metrics: r.metrics, dir,
  };
}

/** Why a candidate cannot stand in for the live model (other channels or window), or null. */
export function shapeProblem(live: Pick<Manifest, 'channels' | 'window'>, candidate: Pick<Manifest, 'channels' | 'window'>): string | null {
  if (live.channels.join('\u0000') !== candidate.channels.join('\u0000')) return `channels: live [${live.channels.join(', ')}], candidate [${candidate.channels.join(', ')}]`;
  if (live.window.size !== candidate.window.size) return `window size: live ${live.window.size}, candidate ${candidate.window.size}`;
  const period = (w: Manifest['window']): number | null => w.samplePeriodMs ?? null;
  if (period(live.window) !== period(candidate.window)) return `sample period: live ${period(live.window)} ms, candidate ${period(candidate.window)} ms`;
  return null;
}
