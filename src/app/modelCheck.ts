// `validate`'s model check: every model the config names must load (manifest, topology, weights of the right
// shape) and fit the channels of each subscription or stream that uses it. Models load as the daemon loads them
// (Detector.load on the configured backend), so what validate accepts the daemon scores.
import type { Config } from '../config/schema';
import { ModelError } from '../core/errors';
import { selectBackend } from '../model/backend';
import { Detector } from '../model/detector';
import { assertCompatible, type Manifest } from '../model/manifest';
import { backendPreference } from './backend';

export async function checkModels(config: Config, _file: string): Promise<string[]> {
  const problems: string[] = [];
  const manifests = new Map<string, Manifest>();
  const names = Object.keys(config.models);
  if (names.length > 0) {
    try {
      await selectBackend(backendPreference(config.inference.backend));
    } catch (err) {
      return [`inference.backend: ${(err as Error).message} (got '${config.inference.backend}')`];
    }
  }
  for (const name of names) {
    const dir = config.models[name].path;
    try {
      const detector = await Detector.load(dir);
      detector.dispose();
      manifests.set(name, detector.manifest);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      problems.push(`models.${name}.path: ${err.message} (got '${dir}')`);
    }
  }
  const users = [
    ...config.subscriptions.map((s, i) => ({ at: `subscriptions[${i}]`, model: s.model, channels: s.channels })),
    ...config.streams.map((s, i) => ({ at: `streams[${i}]`, model: s.model, channels: s.channels })),
  ];
  for (const u of users) {
    const manifest = manifests.get(u.model);
    if (!manifest || !u.channels) continue;
    try {
      assertCompatible(manifest, { channels: u.channels }, config.models[u.model].path);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      problems.push(`${u.at}.channels: ${err.message}`);
    }
  }
  return problems;
}
