// Config loading for commands: one place decides which file is read when none is given.
import * as path from 'node:path';
import { loadConfigFile } from '../config/load';
import type { Config, DetectionConfig } from '../config/schema';

/** config/default.yaml of the installed package (the embedded demo). */
export function defaultConfigPath(): string {
  return path.resolve(__dirname, '..', '..', 'config', 'default.yaml');
}

export async function loadConfig(file: string): Promise<Config> {
  return loadConfigFile(file);
}

/** The detection defaults of a config file (benchmark configs hold only these). */
export async function loadDetectionConfig(file: string): Promise<DetectionConfig> {
  return (await loadConfigFile(file)).defaults;
}
