// The daemon's models: every entry of `models` loaded at start (and again on reload), plus the ones learned
// for auto streams under state_dir/models. A model that fails to load is reported (readiness fails, no alerts
// from it) and the daemon keeps running for the others.
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { ModelError } from '../core/errors';
import { Detector } from '../model/detector';
import { loadLearnedDetector, loadLearnedModel, scalesOfLearned, type LearnedScales } from '../model/learnedModel';
import type { Manifest } from '../model/manifest';
import { migrateLearnedDirs } from './learnedDirs';
import type { ModelShape } from './modelShape';

export const AUTO_PREFIX = 'auto:';

export interface ModelStatus {
  readonly name: string;
  readonly dir: string;
  readonly loaded: boolean;
  readonly error?: string;
  readonly version?: string;
  /** The model version (v1: its own artifact; see modelVersions.ts). */
  readonly versionId?: string;
}

/** Where a model's live version is when it is not the model's own artifact (modelVersions.ts). */
export interface LiveVersions {
  liveOf(model: string): { readonly version: string; readonly dir: string } | undefined;
}

export class ModelRegistry {
  private readonly detectors = new Map<string, Detector>();
  private readonly status = new Map<string, ModelStatus>();
  /** The extra scales' detectors of learned models (coarse_pool, transform_scale), by model name. */
  private readonly scales = new Map<string, LearnedScales>();

  constructor(
    private readonly ctx: ComponentContext,
    private readonly backend: string,
    private readonly versions?: LiveVersions,
  ) {}

  get(name: string): Detector | undefined {
    return this.detectors.get(name);
  }

  /** The extra scales' detectors learned with model `name` (undefined: it has none). */
  scalesOf(name: string): LearnedScales | undefined {
    return this.scales.get(name);
  }

  /** Sets the extra scales' detectors of model `name` (an empty object drops them). */
  setScales(name: string, scales: LearnedScales): void {
    if (scales.coarse || scales.transformed || scales.period !== undefined) this.scales.set(name, scales);
    else this.scales.delete(name);
  }

  /** The configured models among `names` that are loaded, with the directory each was read from. */
  shapes(names: readonly string[]): Map<string, ModelShape> {
    const out = new Map<string, ModelShape>();
    for (const name of names) {
      const d = this.detectors.get(name);
      if (d) out.set(name, { dir: this.status.get(name)?.dir ?? d.dir, manifest: d.manifest });
    }
    return out;
  }

  statuses(): ModelStatus[] {
    return [...this.status.values()];
  }

  /** Names of configured models that failed to load (readiness). */
  failed(): ModelStatus[] {
    return this.statuses().filter((s) => !s.loaded);
  }

  /** Load every configured model; returns the detectors that replaced older ones (reload). */
  async loadConfigured(config: Config): Promise<Map<string, Detector>> {
    const replaced = new Map<string, Detector>();
    for (const [name, entry] of Object.entries(config.models)) {
      const dir = path.resolve(entry.path);
      const live = await this.loadLive(name);
      if (live) {
        replaced.set(name, live);
        continue;
      }
      try {
        const loaded = await Detector.load(dir);
        const detector = entry.threshold !== undefined ? withFixedThreshold(loaded, entry.threshold) : loaded;
        this.set(name, dir, detector);
        replaced.set(name, detector);
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        this.status.set(name, { name, dir, loaded: false, error: err.message });
        this.ctx.events.modelFailed(name, dir, err.message);
      }
    }
    return replaced;
  }

  /**
   * Models learned earlier for auto streams (state_dir/models/<readable>-<hash>, learnedDirs.ts; folders of the
   * old naming are renamed first). The model's name comes from the stream its manifest names, not the folder's.
   */
  async loadLearned(modelsDir: string): Promise<void> {
    for (const dir of await migrateLearnedDirs(modelsDir, this.ctx.log)) {
      try {
        const learned = await loadLearnedModel(dir);
        const { detector } = learned;
        const name = `${AUTO_PREFIX}${detector.manifest.stream}`;
        this.set(name, dir, detector);
        this.setScales(name, scalesOfLearned(learned));
        await this.loadLive(name);
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        this.ctx.log.warn('Ignoring a learned model that does not load; the stream will learn again.', { dir, error: err.message });
      }
    }
  }

  /** The model's version in force (v1 unless another was promoted). */
  versionOf(name: string): string {
    return this.status.get(name)?.versionId ?? 'v1';
  }

  /**
   * The model's live version when one other than its artifact was promoted (it must load: one that does not is
   * reported, and the artifact is used).
   */
  private async loadLive(name: string): Promise<Detector | undefined> {
    const live = this.versions?.liveOf(name);
    if (!live) return undefined;
    try {
      const detector = name.startsWith(AUTO_PREFIX) ? await loadLearnedDetector(live.dir) : await Detector.load(live.dir);
      this.set(name, live.dir, detector, live.version);
      return detector;
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      this.ctx.log.error('The live version of the model does not load; using its own artifact (v1) until it is promoted again.', { model: name, version: live.version, dir: live.dir, error: err.message });
      return undefined;
    }
  }

  set(name: string, dir: string, detector: Detector, version = 'v1'): void {
    this.detectors.set(name, detector);
    this.status.set(name, { name, dir, loaded: true, version: detector.manifest.createdAt, versionId: version });
    this.ctx.events.modelLoaded(name, detector.manifest.createdAt, this.backend, dir);
  }
}

/** An operator's fixed threshold (models.<name>.threshold) replaces the calibrated one; the tail stays for p-values. */
export function withFixedThreshold(d: Detector, threshold: number): Detector {
  const cal = d.manifest.calibration;
  if (!cal) throw new ModelError(`Model '${d.dir}' is not calibrated; run 'anomalyd calibrate' before overriding its threshold`);
  const manifest: Manifest = { ...d.manifest, calibration: { ...cal, threshold } };
  return new Detector(d.model, manifest, d.dir);
}
