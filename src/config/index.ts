// Public surface of the configuration module.
export { loadConfigFile, loadConfigText, MAX_CONFIG_BYTES } from './load';
export { effectiveDetection } from './detection';
export { configWarnings } from './warnings';
export { configSchema, toJsonSchema, SECRET_FILE_KEYS } from './schema';
export type * from './schema';
