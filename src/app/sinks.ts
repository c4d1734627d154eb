// Sinks from config: console, InfluxDB, webhooks, Alertmanager. Each gets its own context and options.
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { AlertmanagerSink } from '../sinks/alertmanager';
import { ConsoleSink } from '../sinks/console';
import { InfluxSink } from '../sinks/influx';
import type { Sink } from '../sinks/sink';
import { WebhookSink } from '../sinks/webhook';

export function buildSinks(config: Config, ctxFor: (id: string) => ComponentContext, externalUrl: string): Sink[] {
  const sinks: Sink[] = [];
  const s = config.sinks;
  if (s.console.enabled) sinks.push(new ConsoleSink(ctxFor('sink.console')));
  if (s.influx) {
    const i = s.influx;
    sinks.push(
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
    sinks.push(
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
    sinks.push(
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
  return sinks;
}

/** Secret values in the config, so the logger can scrub them from any line. */
export function secretValues(config: Config): string[] {
  const values = [config.mqtt.password, config.sinks.influx?.password, config.http.token, ...config.sinks.webhooks.map((w) => w.secret)];
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
