// Config loading for commands: one place decides which file is read when none is given, so `run` and `validate`
// (and a reload) always read the same configuration.
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfigFile } from '../config/load';
import type { Config, DetectionConfig } from '../config/schema';

/** config/default.yaml of the installed package (the embedded demo). */
export function defaultConfigPath(): string {
  return path.resolve(__dirname, '..', '..', 'config', 'default.yaml');
}

/**
 * Where the bundled demo keeps its state when no -c is given: $STATE_DIR (relative to the working directory, as
 * a shell user means it), else $XDG_STATE_HOME/anomalyd, else ~/.local/state/anomalyd. Never inside the package
 * (read-only and shared in a global install) nor in whatever directory the command was typed.
 */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STATE_DIR) return path.resolve(env.STATE_DIR);
  // The XDG spec ignores a relative XDG_STATE_HOME.
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'anomalyd');
  return path.join(os.homedir(), '.local', 'state', 'anomalyd');
}

/** The file a command reads: the one given with -c, else the bundled default. */
export function configFileOf(file: string | undefined): string {
  return file ?? defaultConfigPath();
}

/**
 * Loads the file given with -c; without one, the bundled default with STATE_DIR set to userStateDir() (its
 * `state_dir: ${STATE_DIR:-../var}` keeps the checkout's var/ only for `-c config/default.yaml`, i.e. `npm start`).
 */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, bundled = defaultConfigPath()): Promise<Config> {
  if (file !== undefined) return loadConfigFile(file, env);
  return loadConfigFile(bundled, { ...env, STATE_DIR: userStateDir(env) });
}

/** The detection defaults of a config file (benchmark configs hold only these). */
export async function loadDetectionConfig(file: string): Promise<DetectionConfig> {
  return (await loadConfigFile(file)).defaults;
}
