// Sinks from config, as the sink registry (sinkRegistry.ts) describes them. The plan form (one entry a sink, with
// the settings it was built from) lets a config reload replace only the sinks whose settings changed.
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import type { Sink } from '../sinks/sink';
import { SINK_KINDS, type SinkEnv } from './sinkRegistry';

/** One configured sink: `key` names it across reloads, `settings` tells whether a reload changed it. */
export interface PlannedSink {
  readonly key: string;
  readonly settings: string;
  build(): Sink;
}

/**
 * The sinks a config asks for, not built yet (constructors do no I/O, but a reload compares before building).
 * `env` adds to what every factory gets (a test's console output).
 */
export function planSinks(
  config: Config,
  ctxFor: (id: string) => ComponentContext,
  externalUrl: string,
  env: Pick<SinkEnv, 'stdout'> = {},
): PlannedSink[] {
  return SINK_KINDS.flatMap((kind) =>
    kind.instances(config.sinks, config).map(({ key, settings }) => ({
      key,
      settings: JSON.stringify(settings),
      build: () => kind.build(settings, { ...env, ctx: ctxFor(`sink.${key}`), stateDir: config.state_dir, externalUrl }),
    })),
  );
}

/** Secret values in the config, so the logger can scrub them from any line. */
export function secretValues(config: Config): string[] {
  const values = [config.mqtt.password, config.opcua?.identity.password, config.sinks.influx?.password, config.http.token, config.http.admin_token, ...config.sinks.webhooks.map((w) => w.secret)];
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** Where operators reach the daemon: http.external_url, else the listen address (right only on the host itself). */
export function externalUrl(c: Config): string {
  if (c.http.external_url !== undefined) return c.http.external_url;
  const host = c.http.host.includes(':') ? `[${c.http.host}]` : c.http.host;
  return `http://${host}:${c.http.port}/`;
}
