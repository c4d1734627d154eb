// Loading order: size limit -> hardened YAML -> ${VAR} substitution -> *_file secrets -> JSON Schema (defaults,
// coercion) -> relative paths made absolute against the file's directory -> cross-field rules -> `{hostname}` in
// the MQTT client id -> deep freeze. All problems found are reported together in one ConfigError.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { ConfigError } from '../core/errors';
import { configBaseDir, resolveConfigPaths } from './configPaths';
import { substituteEnv } from './envSubst';
import { ProblemList, Redactions, formatValue } from './problems';
import { OPCUA_TOPIC_PREFIX, opcuaProblemPath, withOpcuaEntries } from './opcuaStreams';
import type { Config, SubscriptionConfig } from './schema';
import { checkSchema } from './schemaCheck';
import { resolveSecretFiles } from './secretFiles';
import { checkSemantics } from './semantic';
import { recordWrittenWindow, writtenWindowKeys } from './stated';
import { parseYaml } from './yamlParse';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let handle: fs.FileHandle | undefined;
  let bytes: Buffer;
  try {
    handle = await fs.open(file, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ConfigError(file, ['(file): is not a regular file']);
    if (stat.size > MAX_CONFIG_BYTES) throw tooLarge(file, stat.size);
    // Read at most one byte past the limit: the size may change between stat and read.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw tooLarge(file, length);
    }
    bytes = buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(file, [`(file): cannot be read (${code})`]);
  } finally {
    await handle?.close();
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(file, ['(file): is not valid UTF-8 text']);
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);

  const redactions = new Redactions();
  const problems = new ProblemList(redactions);
  const parsed = parseYaml(text, problems);
  if (problems.count > 0) throw new ConfigError(file, problems.toArray());

  const raw = parsed === null || parsed === undefined ? {} : parsed;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [`(root): must be a mapping of sections (got ${formatValue(raw)})`]);
  }
  const data = substituteEnv(raw, env, problems);
  redactions.collectInline(data);
  const baseDir = configBaseDir(file);
  resolveSecretFiles(data, problems, redactions, baseDir);
  const early = problems.count;
  // Before the schema fills defaults in: what the file itself says about the window (see stated.ts).
  const windowKeys = writtenWindowKeys((data as { defaults?: { window?: unknown } }).defaults?.window);

  // Keep validating so every problem is listed, but do not repeat one for a path already reported.
  problems.startPhase();
  const valid = checkSchema(data, problems);
  // After the schema filled its defaults, so an omitted state_dir lands beside the file too.
  if (valid) resolveConfigPaths(data, baseDir);
  if (valid && early === 0) {
    appendOpcuaEntries(data as Config, problems);
    checkSemantics(data as Config, problems);
  }
  if (problems.count > 0) throw new ConfigError(file, problems.toArray());

  const config = data as { mqtt: { client_id: string }; defaults: { window: object } };
  recordWrittenWindow(config.defaults.window, windowKeys);
  config.mqtt.client_id = config.mqtt.client_id.replace(/\{hostname\}/g, os.hostname());
  return deepFreeze(data) as Config;
}

/**
 * The entries OPC UA subscriptions make in `subscriptions` (opcuaStreams.ts), after the MQTT ones; from here on a
 * problem in one is reported at its OPC UA subscription. An MQTT topic must not look like one of them.
 */
function appendOpcuaEntries(data: Config, problems: ProblemList): void {
  const mqttCount = data.subscriptions.length;
  let reserved = false;
  data.subscriptions.forEach((sub, i) => {
    if (!sub.topic.startsWith(OPCUA_TOPIC_PREFIX)) return;
    reserved = true;
    problems.add(['subscriptions', i, 'topic'], `must not start with ${OPCUA_TOPIC_PREFIX} (reserved for the OPC UA input)`, sub.topic);
  });
  if (reserved) return;
  (data as unknown as { subscriptions: SubscriptionConfig[] }).subscriptions = withOpcuaEntries(data.subscriptions, data.opcua);
  problems.mapPaths(opcuaProblemPath(mqttCount));
}

function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError(file, [`(file): is larger than the ${MAX_CONFIG_BYTES / 1024 / 1024} MiB limit (got ${bytes} bytes)`]);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
