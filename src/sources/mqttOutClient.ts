// The mqtt_out sink's connection (sinks/mqttOut.ts speaks topics and payloads; mqtt.js stays in this room): a
// client of its own beside the source's, with its own client id, a clean session and a retained will. Its own
// connection because the data session is persistent and paced by the pipeline (acknowledgements held while the
// journal commits): publishing on it would tie results to input backpressure and leave the will, which must say
// whether the publisher is alive, to the input side. mqtt.js reconnects it (at mqtt.reconnect.min_delay_ms) and
// keeps QoS 1 messages in flight across reconnects, sending them again once connected.
import type { MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors';
import { clientOptions, createClient, redactUrl, type MqttConnectionOptions } from './mqttClient';

export interface MqttOutClientOptions extends MqttConnectionOptions {
  /** Delay between reconnect attempts (ms). */
  readonly reconnectMs: number;
  /** Published by the broker (retained, QoS 1) when this connection dies without a DISCONNECT. */
  readonly will: { readonly topic: string; readonly payload: string | Buffer; readonly retain: boolean };
  /** How long close() waits for its last message's acknowledgement. Default 2 s. */
  readonly closeTimeoutMs?: number;
  /** A topic filter to receive commands on (Sparkplug NCMD), subscribed at QoS 0 at each connection before `connected`. */
  readonly commands?: string;
}

export interface MqttOutClientHooks {
  connected(): void;
  disconnected(detail: string): void;
  /** A message on the `commands` filter. */
  message?(topic: string, payload: Buffer): void;
}

export class MqttOutClient {
  private client: MqttClient | null = null;
  private closed = false;
  private lastError = '';
  private willPayload: string | Buffer | undefined;

  constructor(private readonly options: MqttOutClientOptions) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Reads the TLS files (an unreadable one fails here) and starts connecting; does not wait for the broker. */
  async start(hooks: MqttOutClientHooks): Promise<void> {
    if (this.client || this.closed) return;
    const o = this.options;
    const base = await clientOptions({ ...o, cleanSession: true });
    const client = createClient(o.url, {
      ...base,
      manualConnect: false,
      reconnectPeriod: Math.max(1, o.reconnectMs),
      will: { topic: o.will.topic, payload: Buffer.from(this.willPayload ?? o.will.payload), qos: 1, retain: o.will.retain },
    });
    this.client = client;
    let up = false;
    client.on('connect', () => {
      up = true;
      // Before anything `connected` publishes: mqtt.js sends packets in order, so a command sent in reply to
      // the births (a Sparkplug host's rebirth request) is not missed. A refused subscription leaves it deaf to
      // commands only, which the error event records.
      if (o.commands !== undefined) client.subscribe(o.commands, { qos: 0 }, (err) => void (err && (this.lastError = err.message)));
      hooks.connected();
    });
    if (o.commands !== undefined && hooks.message) client.on('message', (topic, payload) => hooks.message?.(topic, payload));
    client.on('error', (err) => (this.lastError = err.message));
    client.on('close', () => {
      if (!up || this.closed) return;
      up = false;
      hooks.disconnected(`${redactUrl(o.url)}${this.lastError ? `: ${this.lastError}` : ''}`);
    });
  }

  async publish(topic: string, payload: string | Buffer, retain: boolean, qos: 0 | 1 = 1): Promise<void> {
    const client = this.client;
    if (!client || this.closed) throw new Error('the MQTT publisher is closed');
    await client.publishAsync(topic, payload, { qos, retain });
  }

  /** mqtt.js builds each CONNECT from its options, so the next connection carries this will. */
  setWill(payload: string | Buffer): void {
    this.willPayload = payload;
    const will = this.client?.options.will;
    if (will) will.payload = Buffer.from(payload);
  }

  async close(last?: { readonly topic: string; readonly payload: string | Buffer; readonly retain?: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = this.client;
    if (!client) return;
    const timeout = this.options.closeTimeoutMs ?? 2_000;
    let said = false;
    if (last && client.connected) {
      said = await within(
        timeout,
        client.publishAsync(last.topic, last.payload, { qos: 1, retain: last.retain ?? true }).then(
          () => true,
          (err: unknown) => ((this.lastError = errorMessage(err)), false),
        ),
      );
    }
    // Having said goodbye, a DISCONNECT, so the broker does not publish the will as well; otherwise (or when the
    // DISCONNECT does not go out in time) forced: unacknowledged messages are not waited for (alert transitions
    // stay in the sink's outbox), and the will says the publisher is gone.
    if (!said) {
      await client.endAsync(true);
      return;
    }
    // end(false) waits for every message in flight; one the broker never acknowledges would hold it forever, and
    // a second end() returns at once while disconnecting, so the socket is cut here instead.
    if (!(await within(timeout, client.endAsync(false).then(() => true)))) client.stream.destroy();
  }
}

/** `work`'s result, or false when it takes longer than `ms`. */
async function within(ms: number, work: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
