// Reads the broker's own drop count from `$SYS`, where a broker publishes one (Mosquitto:
// `$SYS/broker/publish/messages/dropped`). Stock Mosquitto drops QoS 1 messages for a session that already has
// max_queued_messages waiting (a slow or disconnected consumer), and counts them only there: without this
// nothing in anomalyd notices data that never reached it. Its own connection (clean session, QoS 0, a client id
// of `<client_id>-stats`), so the data session's subscriptions stay exactly the configured ones. Harmless where
// the broker publishes no such topic or refuses the subscription (an ACL): nothing arrives, the counter stays
// 0, one INFO line says so for a refusal.
import type { MqttClient } from 'mqtt';
import type { ComponentContext } from '../core/context';
import { BrokerDropTracker, parseSysCount, type DropChange } from './brokerDrops';
import { clientOptions, createClient, redactUrl, type MqttConnectionOptions } from './mqttClient';

export const DROPPED_TOPIC = '$SYS/broker/publish/messages/dropped';
export const UPTIME_TOPIC = '$SYS/broker/uptime';
/** How long to wait for the first uptime before taking a held count as the retained one (brokers without it). */
const SETTLE_MS = 5_000;

export interface BrokerStatsOptions extends MqttConnectionOptions {
  /** Delay between reconnect attempts (default 10 s): a statistic, not data, so no backoff is needed. */
  readonly reconnectPeriodMs?: number;
}

export class BrokerStats {
  private client: MqttClient | null = null;
  private readonly tracker = new BrokerDropTracker();
  private refusedReported = false;
  private stopped: Promise<void> | null = null;
  private settleTimer: NodeJS.Timeout | null = null;

  /** No I/O. */
  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: BrokerStatsOptions,
  ) {}

  /** Starts connecting in the background; never fails the daemon's start. */
  async start(): Promise<void> {
    if (this.client) throw new Error('broker stats already started');
    const base = await clientOptions({ ...this.options, cleanSession: true });
    const client = createClient(this.options.url, { ...base, manualConnect: false, reconnectPeriod: this.options.reconnectPeriodMs ?? 10_000 });
    this.client = client;
    client.on('connect', () => this.subscribe(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => this.ctx.log.debug('Broker statistics connection error.', { error: err.message }));
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.clearSettle();
      const client = this.client;
      if (client) await client.endAsync(true).catch(() => undefined);
    })();
    return this.stopped;
  }

  private subscribe(client: MqttClient): void {
    this.tracker.connected();
    // One SUBSCRIBE, the count first: its retained value (if any) arrives before the uptime (brokerDrops.ts).
    client.subscribe({ [DROPPED_TOPIC]: { qos: 0 }, [UPTIME_TOPIC]: { qos: 0 } }, (err, _granted, suback) => {
      const code = suback?.granted?.[0];
      if (typeof code === 'number' && code >= 0x80) {
        if (!this.refusedReported) {
          this.refusedReported = true;
          this.ctx.log.info('The MQTT broker refused the subscription to its dropped-message count; anomalyd_broker_dropped_messages_total stays 0.', {
            topic: DROPPED_TOPIC,
            reason_code: `0x${code.toString(16)}`,
            url: redactUrl(this.options.url),
          });
        }
        // Nothing to read on this broker: no reconnects either.
        void this.stop();
        return;
      }
      if (err) {
        this.ctx.log.debug('Broker statistics subscription failed; retried on the next connection.', { error: err.message });
        return;
      }
      this.ctx.log.debug('Watching the broker\'s dropped-message count.', { topic: DROPPED_TOPIC });
      this.clearSettle();
      this.settleTimer = setTimeout(() => this.report(this.tracker.settle()), SETTLE_MS);
      this.settleTimer.unref();
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== DROPPED_TOPIC && topic !== UPTIME_TOPIC) return;
    const value = parseSysCount(payload);
    if (value === null) {
      this.ctx.log.debug('Ignored a broker statistic that is not a count.', { topic, payload: payload.toString('utf8', 0, 64) });
      return;
    }
    this.report(topic === UPTIME_TOPIC ? this.tracker.uptime(value) : this.tracker.dropped(value));
  }

  private report(change: DropChange | null): void {
    if (change) this.ctx.events.brokerMessagesDropped(change.increase, change.brokerCount, change.kind);
  }

  private clearSettle(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
  }
}
