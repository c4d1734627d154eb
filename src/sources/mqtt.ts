// The MQTT source: subscribes, maps topics to streams, decodes payloads and hands samples to the pipeline.
//
// Delivery guarantees (QoS 1, persistent session):
// - Messages are handled one at a time, in arrival order, across reconnects. A message is acknowledged only
//   once `deliver` accepted it (returned, or its promise resolved), and the next one is not taken before that: a
//   slow or full pipeline leaves messages unacknowledged at the broker (which stops sending once its in-flight
//   window is full) instead of in memory. The usual case, a pipeline with room, is synchronous (OrderedAcks).
// - The PUBACKs given during one turn of the event loop go out in one socket write at its end (pubackBatcher.ts;
//   mqtt.js would write each on its own), after `beforeAcks` (the daemon's journal commit) said the messages'
//   samples are safe; while it cannot, the acks are held.
// - A message that cannot be decoded is counted by reason and acknowledged: a poison message must not come back
//   forever. A message whose `deliver` rejects (the pipeline is stopping) is not acknowledged; the broker sends it
//   again when the session resumes, so delivery is at least once and duplicates are possible.
// - Reconnects back off exponentially with jitter (mqtt.js has only a fixed period) and every connection
//   subscribes again, because a broker may have lost the session (restart without persistence, clean start).
// - `connected` is true once the connection is up and the subscriptions were acknowledged.
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import { backoffDelayMs, type BackoffOptions } from './backoff';
import { createDecoder, decoderProblems, type DecoderKind, type TimestampOptions } from './decoders';
import { clientOptions, createClient, redactUrl, type MqttConnectionOptions } from './mqttClient';
import { OrderedAcks } from './orderedAcks';
import { batchPubacks } from './pubackBatcher';
import { tapPublishes, type OversizePart } from './publishTap';
import type { Deliver, Source } from './source';
import { TopicRouter, type SubscriptionRoute } from './topicRouter';
import { compileRoute } from './topics';
import { ModeRouter, type ModeTopicOptions } from './modeTopics';
import { DEFAULT_SPARKPLUG, SparkplugSession, type SparkplugSettings } from './sparkplugSession';
import { sparkplugRouteProblems } from './sparkplugTopic';
import { withTimeout } from './withTimeout';

export type { MqttTlsOptions, MqttConnectionOptions } from './mqttClient';

export interface MqttSubscriptionOptions {
  /** Topic filter with `+` / `#` wildcards. */
  readonly topic: string;
  /** The filter with names for its wildcard levels, e.g. `plant/{line}/{asset}/telemetry`. */
  readonly template?: string;
  /** Stream id pattern, e.g. `{line}/{asset}`; `{topic}` = the whole topic. */
  readonly stream: string;
  /** sparkplug_b: Sparkplug B (sparkplugSession.ts); the stream pattern then names {group}, {edge}, {device}. */
  readonly decoder: DecoderKind | 'sparkplug_b';
  readonly channels: readonly string[];
  readonly timestamp: TimestampOptions;
  readonly sampleRateHz?: number;
  /** Sparkplug B settings (decoder sparkplug_b); default: no rebirth requests. */
  readonly sparkplug?: SparkplugSettings;
  /** sparkplug.node_device: what stands for {device} in the stream of an edge node's own metrics. */
  readonly sparkplugNodeDevice?: string;
  /** decoder sparkplug_b without `channels` in the config: each stream's come from its births (`channels` is then empty). */
  readonly channelsFromBirths?: boolean;
}

/** The mode topics of one subscription (its own `modes` and its stream entries'). */
export interface MqttModeTopics {
  readonly subscription: number;
  /** The subscription's stream pattern: a mode topic's names build the stream id with it. */
  readonly stream: string;
  readonly modes: readonly ModeTopicOptions[];
}

/** Where mode messages go (Pipeline.setMode): the stream, its mode and the arrival time. */
export type ModeSink = (stream: string, mode: string, time: number) => void;

/** Where Sparkplug births and deaths go (Pipeline.setOnline): the stream, online or not, why, and the arrival time. */
export type LivenessSink = (stream: string, online: boolean, reason: string, time: number) => void;

export interface MqttSourceOptions extends MqttConnectionOptions {
  readonly subscriptions: readonly MqttSubscriptionOptions[];
  /** Topics carrying streams' operating modes; absent or empty: none. */
  readonly modeTopics?: readonly MqttModeTopics[];
  /** Subscription QoS; default 1. */
  readonly qos?: 0 | 1;
  /** Payloads larger than this are rejected before decoding; default 1 MiB. */
  readonly maxPayloadBytes?: number;
  /** Default: 1 s doubling to 30 s, +-20 % jitter. */
  readonly reconnect?: BackoffOptions;
  /** How long stop() waits for the message being delivered before it disconnects; default 10 s. */
  readonly drainTimeoutMs?: number;
}

/** At most one "Pipeline did not accept a message" line per this interval. */
export const REFUSED_WARN_INTERVAL_MS = 60_000;

/** A connection that stayed up this long resets the backoff; shorter ones (flapping) keep escalating it. */
const STABLE_CONNECTION_MS = 30_000;
const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0.2 };

export class MqttSource implements Source {
  readonly name = 'mqtt';
  /** Replaced whole by updateSubscriptions (config reload), with its cache of resolved topics. */
  private router: TopicRouter;
  /** Null without mode topics: the message path then checks one field. */
  private modeRouter: ModeRouter | null;
  private modeSink: ModeSink | null = null;
  private livenessSink: LivenessSink | null = null;
  /** The sparkplug_b subscriptions' sessions by SparkplugSession.key: a reload that keeps one keeps its births. */
  private sparkplug = new Map<string, SparkplugSession>();
  /** The same sessions by subscription index (StreamSamples.subscription). */
  private sparkplugAt = new Map<number, SparkplugSession>();
  private client: MqttClient | null = null;
  private deliver: Deliver | null = null;
  private isConnected = false;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private attempt = 0;
  private connectedAt = 0;
  private lastError = '';
  private reportedDown = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Serialises message handling across connections (each connection's pump is serial on its own). */
  private readonly acks = new OrderedAcks<IPublishPacket>(
    (packet) => this.accept(packet),
    (packet, err) => {
      if (this.stopping) return;
      // Rate-limited: a failure that repeats for every message (a setting the pipeline cannot work with) would
      // otherwise write one line per message. The line carries how many failures it stands for.
      const now = this.ctx.clock.now();
      this.refusedSinceWarn++;
      if (now - this.refusedWarnAt < REFUSED_WARN_INTERVAL_MS) return;
      this.ctx.log.warn('Pipeline did not accept a message; it stays unacknowledged and the broker sends it again on reconnect.', {
        topic: packet.topic,
        error: err.message,
        occurrences: this.refusedSinceWarn,
      });
      this.refusedWarnAt = now;
      this.refusedSinceWarn = 0;
    },
  );
  /** When the last "did not accept" line was written, and the failures since (see the handler above). */
  private refusedWarnAt = Number.NEGATIVE_INFINITY;
  private refusedSinceWarn = 0;
  private firstAttempt: (() => void) | null = null;

  /** Validates subscriptions (throws an Error listing the problems); no I/O. */
  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: MqttSourceOptions,
  ) {
    this.router = new TopicRouter(this.compileRoutes(options.subscriptions));
    this.modeRouter = modeRouterOf(options.modeTopics);
  }

  /** Where decoded mode messages go (set before start); without one they are counted and dropped. */
  onMode(sink: ModeSink): void {
    this.modeSink = sink;
  }

  /** Where Sparkplug B births and deaths go (set before start); without one they only change the decoder's state. */
  onLiveness(sink: LivenessSink): void {
    this.livenessSink = sink;
  }

  /**
   * Data of a Sparkplug stream the pipeline holds offline (dead before a restart, the source has seen no birth
   * since): its edge node is asked for its births, as for any data of a dead node (rebirth_requests, rate limit).
   */
  askRebirth(batch: { readonly subscription: number; readonly labels: Readonly<Record<string, string>> }): void {
    const session = this.sparkplugAt.get(batch.subscription);
    const { group, edge } = batch.labels;
    if (!session || group === undefined || edge === undefined) return;
    session.requestRebirth({ group, edge }, 'data of a stream offline since before anomalyd restarted', this.ctx.clock.now());
  }

  /** Sparkplug B edge nodes known to the sparkplug_b subscriptions, and how many are online. */
  sparkplugNodes(): { nodes: number; online: number } {
    let nodes = 0;
    let online = 0;
    for (const s of this.sparkplug.values()) {
      const c = s.counts();
      nodes += c.nodes;
      online += c.online;
    }
    return { nodes, online };
  }

  /** Every topic filter to subscribe: the subscriptions' and the mode topics'. */
  private filterList(): string[] {
    return [...new Set([...this.router.subscriptions.map((r) => r.route.filter), ...(this.modeRouter?.filters ?? [])])];
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Connects and resolves after the first attempt: subscribed, or failed (then retrying in the background).
   * `beforeAcks` is called before acknowledgements are sent (once per batch of them); false holds them back.
   */
  async start(deliver: Deliver, beforeAcks?: () => boolean): Promise<void> {
    if (this.client) throw new Error('MQTT source already started');
    this.deliver = deliver;
    const client = createClient(this.options.url, await clientOptions(this.options));
    this.client = client;
    const maxPayloadBytes = this.options.maxPayloadBytes ?? 1_048_576;
    tapPublishes(client, {
      maxPayloadBytes,
      oversize: (topic, bytes, part) => this.rejectOversize(topic, bytes, part, maxPayloadBytes),
      partialTimeoutMs: partialPacketTimeoutMs(this.options.keepaliveS ?? 30),
    });
    if (batchPubacks(client, beforeAcks) || !beforeAcks) {
      client.handleMessage = (packet, callback) => this.acks.push(packet, callback);
    } else {
      // An mqtt.js that cannot be batched acknowledges each message itself: ask before each one.
      const unsafe = new Error('the received samples cannot be stored yet');
      client.handleMessage = (packet, callback) => this.acks.push(packet, (err) => callback(err ?? (beforeAcks() ? undefined : unsafe)));
    }
    client.on('connect', (connack) => this.onConnect(client, connack.sessionPresent));
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = err.message;
      this.ctx.log.debug('MQTT client error.', { error: err.message });
    });
    this.ctx.signal.addEventListener('abort', () => this.clearReconnect(), { once: true });
    const first = new Promise<void>((resolve) => (this.firstAttempt = resolve));
    client.connect();
    await first;
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.clearReconnect();
    this.settleFirstAttempt();
    const client = this.client;
    if (!client) return;
    await withTimeout(this.acks.idle(), this.options.drainTimeoutMs ?? 10_000);
    const ended = await withTimeout(
      client.endAsync(!client.connected).then(() => true, () => false),
      5_000,
    );
    if (ended !== true) client.end(true);
    if (this.isConnected) {
      this.isConnected = false;
      this.ctx.events.mqttConnection(false, 'source stopped');
    }
  }

  /**
   * Config reload: messages are routed by the new subscriptions from now on (indexes as in the new list), and
   * the live connection subscribes to added topic filters and unsubscribes from dropped ones, so no reconnect is
   * needed. Throws, changing nothing, when a subscription is invalid. Resolves once the broker acknowledged.
   */
  async updateSubscriptions(subscriptions: readonly MqttSubscriptionOptions[], modeTopics?: readonly MqttModeTopics[]): Promise<{ added: string[]; removed: string[] }> {
    const routes = this.compileRoutes(subscriptions);
    const modeRouter = modeRouterOf(modeTopics);
    const before = new Set(this.filterList());
    this.router = new TopicRouter(routes);
    this.modeRouter = modeRouter;
    const after = new Set(this.filterList());
    const added = [...after].filter((f) => !before.has(f));
    const removed = [...before].filter((f) => !after.has(f));
    const client = this.client;
    // Not connected: the next connection subscribes to the new list (onConnect).
    if (!client?.connected || this.stopping) return { added, removed };
    const qos = this.options.qos ?? 1;
    if (added.length > 0) {
      const granted = await client.subscribeAsync(Object.fromEntries(added.map((f) => [f, { qos }])));
      for (const g of granted) {
        if (g.qos === 128) this.ctx.log.error('MQTT broker refused a subscription; its messages will not arrive.', { topic: g.topic });
      }
    }
    if (removed.length > 0) await client.unsubscribeAsync(removed);
    return { added, removed };
  }

  private onConnect(client: MqttClient, sessionPresent: boolean): void {
    this.connectedAt = this.ctx.clock.now();
    const qos = this.options.qos ?? 1;
    const filters = Object.fromEntries(this.filterList().map((f) => [f, { qos }]));
    // Nothing to subscribe (every stream comes from OPC UA): mqtt.js would never answer an empty SUBSCRIBE.
    if (Object.keys(filters).length === 0) {
      this.isConnected = true;
      this.reportedDown = false;
      this.ctx.events.mqttConnection(true, `connected to ${redactUrl(this.options.url)} as '${this.options.clientId}', no MQTT subscriptions`);
      this.settleFirstAttempt();
      return;
    }
    client.subscribe(filters, (err, _granted, suback) => {
      if (this.stopping) return;
      // One SUBACK code per filter, in request order. A code >= 0x80 is a refusal: 0x80 under MQTT 3.1.1, any of
      // 0x80..0xA2 under MQTT 5 (0x87 not authorised, 0x8F bad filter, 0x9E no shared subscriptions...). mqtt.js
      // reports a refusal as an error too, with the SUBACK attached: the connection is up, the other filters hold.
      const codes = (suback?.granted ?? []).map((g) => (typeof g === 'number' ? g : NaN));
      const refused = codes.some((code) => code >= 0x80);
      if (err && !refused) {
        // The connection dropped while subscribing; the next connection subscribes again.
        this.ctx.log.debug('MQTT subscribe failed.', { error: err.message });
        return;
      }
      Object.keys(filters).forEach((topic, i) => {
        const code = codes[i];
        if (code !== undefined && code >= 0x80) {
          this.ctx.log.error('MQTT broker refused a subscription; its messages will not arrive.', { topic, reason_code: `0x${code.toString(16)}` });
        }
      });
      this.isConnected = true;
      this.reportedDown = false;
      const session = this.options.cleanSession ? 'clean session' : sessionPresent ? 'session resumed' : 'new session';
      this.ctx.events.mqttConnection(true, `connected to ${redactUrl(this.options.url)} as '${this.options.clientId}' (${session}), subscribed to ${Object.keys(filters).join(', ')}`);
      this.settleFirstAttempt();
    });
  }

  private onClose(): void {
    const wasConnected = this.isConnected;
    this.isConnected = false;
    if (this.stopping) return;
    if (wasConnected && this.ctx.clock.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    const delay = backoffDelayMs(this.attempt++, this.options.reconnect ?? DEFAULT_BACKOFF);
    const why = this.lastError || 'connection closed';
    this.lastError = '';
    if (wasConnected || !this.reportedDown) {
      this.reportedDown = true;
      const what = wasConnected ? 'connection lost' : `cannot connect to ${redactUrl(this.options.url)}`;
      this.ctx.events.mqttConnection(false, `${what}: ${why}; retrying in ${delay} ms`);
    } else {
      this.ctx.log.debug('MQTT reconnect attempt failed.', { error: why, attempt: this.attempt, retry_in_ms: delay });
    }
    this.settleFirstAttempt();
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopping && !this.ctx.signal.aborted) this.client?.reconnect();
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private settleFirstAttempt(): void {
    this.firstAttempt?.();
    this.firstAttempt = null;
  }

  /**
   * The routes of a subscription list (index = position); throws naming the first invalid subscription. A
   * sparkplug_b subscription whose session key is unchanged keeps its session (the edge nodes' births).
   */
  private compileRoutes(subscriptions: readonly MqttSubscriptionOptions[]): SubscriptionRoute[] {
    const maxPayloadBytes = this.options.maxPayloadBytes ?? 1_048_576;
    const sessions = new Map<string, SparkplugSession>();
    const at = new Map<number, SparkplugSession>();
    const routes = subscriptions.map((s, index): SubscriptionRoute => {
      try {
        if (s.decoder === 'sparkplug_b') {
          const session = this.sparkplugSession(s, maxPayloadBytes, sessions);
          at.set(index, session);
          return { index, route: session.route(), decode: session.decoderFor(s.topic, ''), decodeFor: (topic, stream) => session.decoderFor(topic, stream) };
        }
        const route = compileRoute(s);
        const decode = createDecoder({ kind: s.decoder, channels: s.channels, timestamp: s.timestamp, sampleRateHz: s.sampleRateHz, maxPayloadBytes });
        return { index, route, decode };
      } catch (err) {
        throw new Error(`subscription ${index} ('${s.topic}'): ${errorMessage(err).replace(/\n/g, '; ')}`);
      }
    });
    this.sparkplug = sessions;
    this.sparkplugAt = at;
    return routes;
  }

  private sparkplugSession(s: MqttSubscriptionOptions, maxPayloadBytes: number, sessions: Map<string, SparkplugSession>): SparkplugSession {
    const learn = s.channelsFromBirths === true;
    // The channel checks of a plain decoder (with a stand-in channel when they are learnt), the timestamp's too.
    const decoderChecks = decoderProblems({ kind: 'json', channels: learn ? ['learnt'] : s.channels, timestamp: { ...s.timestamp, source: 'arrival' }, maxPayloadBytes });
    const problems = [...sparkplugRouteProblems(s.topic, s.stream, s.template, s.sparkplugNodeDevice), ...decoderChecks];
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const settings = s.sparkplug ?? DEFAULT_SPARKPLUG;
    const options = { topic: s.topic, stream: s.stream, ...(s.sparkplugNodeDevice !== undefined ? { nodeDevice: s.sparkplugNodeDevice } : {}), channels: learn ? null : [...s.channels], timestamp: { ...s.timestamp }, maxPayloadBytes, settings };
    const key = SparkplugSession.key(options);
    const session =
      sessions.get(key) ??
      this.sparkplug.get(key) ??
      new SparkplugSession(this.ctx, options, {
        publish: (topic, payload) => this.publishCommand(topic, payload),
        liveness: (change, time) => this.livenessSink?.(change.stream, change.online, change.reason, time),
      });
    session.updateSettings(settings);
    sessions.set(key, session);
    return session;
  }

  /** A Sparkplug command (QoS 0, not retained, as the specification asks); rejects when not connected. */
  private async publishCommand(topic: string, payload: Uint8Array): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected || this.stopping) throw new Error('not connected to the broker');
    await client.publishAsync(topic, Buffer.from(payload), { qos: 0, retain: false });
  }

  /** A PUBLISH the tap skipped unread for its size: counted as received and rejected, as a decoder would. */
  private rejectOversize(topic: string, bytes: number, part: OversizePart, maxPayloadBytes: number): void {
    this.ctx.events.messageReceived(topic, bytes, this.ctx.clock.now());
    // 'properties': an MQTT 5 PUBLISH whose properties alone exceed the limit (see publishTap.ts).
    this.ctx.events.messageRejected('oversize', topic, `${part} of ${bytes} bytes exceeds ${maxPayloadBytes} (skipped unread)`);
  }

  /**
   * One message: routes, decodes and delivers it. Returns nothing when it is done with (delivered, or rejected
   * as bad input: acknowledged so a poison message does not come back forever), or the pipeline's promise when
   * it pushes back. Throws (or the promise rejects) when the message must stay unacknowledged.
   */
  private accept(packet: IPublishPacket): void | Promise<void> {
    const deliver = this.deliver;
    if (this.stopping || !deliver) throw new Error('MQTT source is stopping');
    const { topic } = packet;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const { events } = this.ctx;
    // One clock read per message: the arrival time for the status page's rate, the decoder and the pipeline.
    const receivedAt = this.ctx.clock.now();
    events.messageReceived(topic, payload.length, receivedAt);
    if (this.modeRouter !== null) {
      const modeTarget = this.modeRouter.resolve(topic);
      if (modeTarget !== null) {
        const decoded = modeTarget.decode(payload);
        if (!decoded.ok) events.messageRejected(decoded.reason, topic, decoded.detail);
        else this.modeSink?.(modeTarget.stream, decoded.mode, receivedAt);
        return;
      }
    }
    const target = this.router.resolve(topic);
    if (!target.ok) {
      events.messageRejected('unknown_stream', topic, target.detail);
      return;
    }
    const decoded = target.decode(payload, receivedAt);
    if (decoded.ok && decoded.samples.length === 0) return; // Sparkplug births, deaths and commands without channel values.
    if (!decoded.ok) {
      events.messageRejected(decoded.reason, topic, decoded.detail);
      // Rejected for its time: the stream's stall detector hears why it is silent (see StreamSamples.timeRejected).
      if (decoded.reason === 'future_timestamp' || decoded.reason === 'too_old') {
        const timeRejected = { reason: decoded.reason, detail: decoded.detail };
        return deliver({ stream: target.stream, subscription: target.subscription, labels: target.labels, samples: [], receivedAt, timeRejected });
      }
      return;
    }
    if (decoded.channels) return deliver({ stream: target.stream, subscription: target.subscription, labels: target.labels, samples: decoded.samples, channels: decoded.channels, receivedAt });
    return deliver({ stream: target.stream, subscription: target.subscription, labels: target.labels, samples: decoded.samples, receivedAt });
  }
}

/**
 * How long an incomplete packet may receive nothing before the connection is closed: a third of the keepalive
 * (the tap notices after one to two such periods, so within two thirds of it), at least 1 s; 30 s without one.
 */
export function partialPacketTimeoutMs(keepaliveS: number): number {
  return keepaliveS > 0 ? Math.max(1_000, Math.round((keepaliveS * 1_000) / 3)) : 30_000;
}

/** The router of the mode topics, or null when there are none; throws naming the first that does not compile. */
function modeRouterOf(topics: readonly MqttModeTopics[] | undefined): ModeRouter | null {
  if (!topics || topics.length === 0) return null;
  try {
    const router = new ModeRouter(topics);
    return router.empty ? null : router;
  } catch (err) {
    throw new Error(`mode topic: ${errorMessage(err).replace(/\n/g, '; ')}`);
  }
}

