// `validate`'s model check: every model the config names must load (manifest, topology, weights of the right
// shape), and what the config states about the streams that use it (channels, window size, hop, sample period)
// must agree with its manifest (modelShape.ts, the same check `run` makes). Models load as the daemon loads them
// (Detector.load on the configured backend), so what validate accepts the daemon scores.
import type { Config } from '../config/schema';
import { errorMessage, ModelError } from '../core/errors';
import { selectBackend } from '../model/backend';
import { Detector } from '../model/detector';
import { backendPreference } from './backend';
import { applyModelShapes, type ModelShape } from './modelShape';

export async function checkModels(config: Config, _file: string): Promise<string[]> {
  const problems: string[] = [];
  const shapes = new Map<string, ModelShape>();
  const names = Object.keys(config.models);
  if (names.length > 0) {
    try {
      await selectBackend(backendPreference(config.inference.backend));
    } catch (err) {
      return [`inference.backend: ${errorMessage(err)} (got '${config.inference.backend}')`];
    }
  }
  for (const name of names) {
    const dir = config.models[name].path;
    try {
      const detector = await Detector.load(dir);
      detector.dispose();
      shapes.set(name, { dir, manifest: detector.manifest });
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      problems.push(`models.${name}.path: ${err.message} (got '${dir}')`);
    }
  }
  problems.push(...applyModelShapes(config, shapes).problems);
  return problems;
}
