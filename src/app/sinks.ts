// Sinks from config: console, InfluxDB, webhooks, Alertmanager. Each gets its own context and options. The plan
// form (one entry a sink, with the settings it was built from) lets a config reload replace only the sinks
// whose settings changed.
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { AlertmanagerSink } from '../sinks/alertmanager';
import { ConsoleSink } from '../sinks/console';
import { InfluxSink } from '../sinks/influx/influxSink';
import type { Sink } from '../sinks/sink';
import { WebhookSink } from '../sinks/webhook';

/** One configured sink: `key` names it across reloads, `settings` tells whether a reload changed it. */
export interface PlannedSink {
  readonly key: string;
  readonly settings: string;
  build(): Sink;
}

export function buildSinks(config: Config, ctxFor: (id: string) => ComponentContext, externalUrl: string): Sink[] {
  return planSinks(config, ctxFor, externalUrl).map((p) => p.build());
}

/** The sinks a config asks for, not built yet (constructors do no I/O, but a reload compares before building). */
export function planSinks(config: Config, ctxFor: (id: string) => ComponentContext, externalUrl: string): PlannedSink[] {
  const plans: PlannedSink[] = [];
  const s = config.sinks;
  const plan = (key: string, slice: unknown, build: () => Sink): void => {
    plans.push({ key, settings: JSON.stringify(slice), build });
  };
  if (s.console.enabled) plan('console', s.console, () => new ConsoleSink(ctxFor('sink.console')));
  if (s.influx) {
    const i = s.influx;
    plan('influx', i, () =>
      new InfluxSink(ctxFor('sink.influx'), {
        url: i.url,
        ...(i.database !== undefined ? { database: i.database } : {}),
        ...(i.username !== undefined ? { username: i.username } : {}),
        ...(i.password !== undefined ? { password: i.password } : {}),
        batchSize: i.batch_size,
        flushIntervalMs: i.flush_interval_ms,
        timeoutMs: i.timeout_ms,
        bufferMaxPoints: i.buffer_max_points,
        spoolDir: path.join(config.state_dir, 'spool', 'influx'),
        spoolMaxBytes: i.spool_max_bytes,
      }),
    );
  }
  for (const w of s.webhooks) {
    plan(`webhook.${w.name}`, w, () =>
      new WebhookSink(ctxFor(`sink.webhook.${w.name}`), {
        receiver: w.name,
        url: w.url,
        ...(w.secret !== undefined ? { secret: w.secret } : {}),
        headers: w.headers,
        timeoutMs: w.timeout_ms,
        maxRetries: w.max_retries,
        sendResolved: w.send_resolved,
        stateDir: config.state_dir,
        externalUrl,
        ...(w.retry_base_ms !== undefined ? { retryBaseMs: w.retry_base_ms } : {}),
        ...(w.retry_max_delay_ms !== undefined ? { retryMaxDelayMs: w.retry_max_delay_ms } : {}),
        ...(w.max_outbox_notices !== undefined ? { maxOutboxNotices: w.max_outbox_notices } : {}),
      }),
    );
  }
  if (s.alertmanager) {
    const a = s.alertmanager;
    plan('alertmanager', a, () =>
      new AlertmanagerSink(ctxFor('sink.alertmanager'), {
        url: a.url,
        timeoutMs: a.timeout_ms,
        repostIntervalMs: a.repost_interval_ms,
        externalUrl,
        retryBaseMs: a.retry_base_ms,
        retryMaxDelayMs: a.retry_max_delay_ms,
      }),
    );
  }
  return plans;
}

/** Secret values in the config, so the logger can scrub them from any line. */
export function secretValues(config: Config): string[] {
  const values = [config.mqtt.password, config.sinks.influx?.password, config.http.token, ...config.sinks.webhooks.map((w) => w.secret)];
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** Where operators reach the daemon: http.external_url, else the listen address (right only on the host itself). */
export function externalUrl(c: Config): string {
  if (c.http.external_url !== undefined) return c.http.external_url;
  const host = c.http.host.includes(':') ? `[${c.http.host}]` : c.http.host;
  return `http://${host}:${c.http.port}/`;
}
