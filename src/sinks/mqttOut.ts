// The mqtt_out sink: anomalyd's results back into the plant's MQTT namespace, next to the data they judge.
//
// - Scores: each stream's latest scored window, retained at QoS 1 on its score topic. A score is state (the last
//   one is what a late subscriber needs), so the sink keeps only the newest unsent one per stream: while the broker
//   is away or slower than the scores arrive, older unsent ones are superseded (counted) instead of queued, and the
//   memory held is one point per stream. InfluxDB keeps the history.
// - Alert transitions: every firing and resolved notice that pages (as for the webhook), retained at QoS 1 on the
//   alert topic of its stream and kind, from the same durable outbox as the webhook (outbox.ts): in order, one at a
//   time, removed only once the broker acknowledged it, so a broker restart, an outage or a kill -9 of the daemon
//   loses none; a notice acknowledged and then resent (the acknowledgement was lost) carries the same `key`.
// - Sparkplug B (optional, sparkplugNode.ts): scores and alert states as metrics of an edge node on a session of
//   its own.
// - Status: `online` on the status topic at each connection, `offline` when stopping and, as the MQTT will, when
//   the daemon dies; Home Assistant discovery configs (optional) per stream, after each connection.
// The MQTT connection itself is the publisher given in (sources/mqttOutClient.ts in the daemon), so this file
// speaks only topics and payloads.
import { reachesPagers, type AlertNotice } from '../core/alert';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import { discoveryMessages, type DiscoveryMessage } from './homeAssistant';
import { alertStatePayload, scorePayload, STATUS_OFFLINE, STATUS_ONLINE } from './mqttOutPayloads';
import type { MqttOutTopics } from './mqttOutTopics';
import { Outbox, type OutboxEntry } from './outbox';
import type { ScorePoint, Sink, SinkStats } from './sink';
import type { SparkplugNode } from './sparkplugNode';

/** A QoS 1 MQTT connection that reconnects by itself; the sink publishes through it. */
export interface MqttOutPublisher {
  /** Starts connecting (does not wait for the broker); `hooks` hear of every connection and its loss. */
  start(hooks: PublisherHooks): Promise<void>;
  /**
   * Resolves once the broker acknowledged the message. One in flight when the connection drops is sent again
   * after the reconnect; rejects when the broker refused it (MQTT 5 reason code) or the publisher was closed.
   */
  publish(topic: string, payload: string | Buffer, retain: boolean, qos?: 0 | 1): Promise<void>;
  readonly connected: boolean;
  /** Replaces the will's payload for the next connection (Sparkplug's NDEATH carries the next bdSeq). */
  setWill(payload: string | Buffer): void;
  /** Publishes `last` (QoS 1, waiting a little for its acknowledgement) if connected, then disconnects; idempotent. */
  close(last?: LastMessage): Promise<void>;
}

export interface LastMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  /** Default true. */
  readonly retain?: boolean;
}

export interface PublisherHooks {
  connected(): void;
  disconnected(detail: string): void;
  /** A command to anomalyd (a Sparkplug NCMD), where the publisher subscribes to some. */
  message?(topic: string, payload: Buffer): void;
}

export interface MqttOutSinkOptions {
  readonly publisher: MqttOutPublisher;
  readonly topics: MqttOutTopics;
  /** The publishing client id: the status topic's `{client_id}` and Home Assistant's node id. */
  readonly clientId: string;
  /** Directory of the outbox file (the daemon's state_dir). */
  readonly stateDir: string;
  readonly maxOutboxNotices: number;
  /** Base URL of the status page, for each alert's generatorURL. */
  readonly externalUrl: string;
  /** Home Assistant discovery prefix; unset: no discovery. */
  readonly homeAssistantPrefix?: string;
  /** Sparkplug B out: the edge node and its own session. */
  readonly sparkplug?: { readonly node: SparkplugNode; readonly publisher: MqttOutPublisher };
  /** Score messages awaiting acknowledgement at most; more wait (newest per stream). Default 256. */
  readonly maxScoresInFlight?: number;
}

/** How long stop() lets the last scores be acknowledged (the daemon's shutdown has one grace deadline). */
const STOP_DRAIN_MS = 2_000;

/** The outbox file under state_dir (the webhooks' are webhook-<name>.outbox). */
export const MQTT_OUT_OUTBOX = 'mqtt_out.outbox';

export class MqttOutSink implements Sink {
  readonly name = 'mqtt_out';
  private readonly outbox: Outbox;
  private readonly statusTopic: string;
  private readonly maxInFlight: number;
  /** The newest unsent score of each stream. */
  private readonly scores = new Map<string, ScorePoint>();
  private scoresInFlight = 0;
  /** Streams whose discovery configs were published on this connection (cleared at each connection). */
  private readonly announced = new Set<string>();
  private readonly stopper = new AbortController();
  private readonly stopped: Promise<void>;
  private started = false;
  private stopping = false;
  private beforeStart: AlertNotice[] = [];
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: MqttOutSinkOptions,
  ) {
    this.statusTopic = options.topics.status(options.clientId);
    this.maxInFlight = options.maxScoresInFlight ?? 256;
    this.outbox = new Outbox({
      dir: options.stateDir,
      receiver: this.name,
      fileName: MQTT_OUT_OUTBOX,
      maxNotices: options.maxOutboxNotices,
      onWriteError: (error) => ctx.events.sinkError(this.name, true, `outbox write failed: ${error.message}`),
    });
    this.stopped = new Promise((resolve) => this.stopper.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    const loaded = await this.outbox.open();
    if (loaded.corrupt > 0) {
      this.ctx.events.sinkDropped(this.name, 'spool_corrupt', loaded.corrupt, `${loaded.corrupt} damaged outbox line(s) skipped in ${this.outbox.file}`);
    }
    if (loaded.pending > 0) this.ctx.log.info('Republishing alert transitions the broker had not acknowledged.', { sink: this.name, pending: loaded.pending });
    await this.options.publisher.start({
      connected: () => this.onConnected(),
      disconnected: (detail) => this.ctx.events.sinkError(this.name, true, `MQTT connection lost: ${detail}`),
    });
    const sp = this.options.sparkplug;
    if (sp) {
      await sp.node.loadBdSeq();
      await sp.publisher.start({
        connected: () => sp.node.connected(),
        message: (topic, payload) => sp.node.command(topic, payload),
        disconnected: (detail) => {
          sp.node.disconnected();
          this.ctx.events.sinkError(this.name, true, `Sparkplug connection lost: ${detail}`);
        },
      });
    }
    this.started = true;
    for (const notice of this.beforeStart) this.accept(notice);
    this.beforeStart = [];
    this.loop = this.run();
    this.pumpScores();
  }

  writeScores(points: readonly ScorePoint[]): void {
    if (this.stopping) return;
    let superseded = 0;
    const sp = this.started ? this.options.sparkplug : undefined;
    for (const p of points) {
      sp?.node.score(p);
      if (this.scores.has(p.stream)) superseded++;
      this.scores.set(p.stream, p);
    }
    if (superseded > 0) this.ctx.events.scoresSuperseded(this.name, superseded);
    this.pumpScores();
  }

  /** The daemon no longer monitors the stream (evicted, or removed by a reload): as a Sparkplug device, it dies (DDEATH). */
  streamGone(stream: string): void {
    if (this.stopping) return;
    this.options.sparkplug?.node.deviceGone(stream);
  }

  /**
   * Never blocks: the notice goes to the outbox (disk write in the background) and the delivery loop wakes; the
   * Sparkplug node, if any, publishes the new alert state at once (QoS 0, no outbox: its births carry the state).
   */
  writeAlert(notice: AlertNotice): void {
    // The same notices as reach the pagers: an alert held by maintenance or summarised by another is not a page.
    if (this.stopping || !reachesPagers(notice)) return;
    this.options.sparkplug?.node.alert(notice);
    if (!this.started) this.beforeStart.push(notice);
    else this.accept(notice);
  }

  /**
   * The alerts firing now (restored after a restart, or when this sink was rebuilt by a reload): the Sparkplug
   * node's births must carry them. Not transitions: the alert topics already hold them retained, so nothing goes
   * to the outbox.
   */
  reconcile(active: readonly AlertNotice[]): void {
    if (this.stopping) return;
    this.options.sparkplug?.node.reconcile(active.filter(reachesPagers));
  }

  async flush(): Promise<void> {
    await this.outbox.flush();
  }

  /**
   * Stops publishing: the notice in flight stays in the outbox (same key next start); the last scores get a short
   * while (connected) to be acknowledged, and those that are not are counted as dropped.
   */
  async stop(): Promise<void> {
    if (this.stopping) {
      await this.loop;
      return;
    }
    await this.drainScores(STOP_DRAIN_MS);
    this.stopping = true;
    this.stopper.abort();
    this.wake?.();
    await this.loop;
    const unsent = this.scores.size + this.scoresInFlight;
    if (unsent > 0) this.ctx.events.sinkDropped(this.name, 'overflow', unsent, `${unsent} score(s) unacknowledged at stop`);
    this.scores.clear();
    await this.options.publisher.close({ topic: this.statusTopic, payload: STATUS_OFFLINE });
    const sp = this.options.sparkplug;
    await sp?.publisher.close({ topic: sp.node.deathTopic, payload: sp.node.death(), retain: false });
    if (this.started) await this.outbox.close();
  }

  stats(): SinkStats & { readonly connected: boolean } {
    return {
      buffered: this.outbox.size + this.beforeStart.length + this.scores.size + this.scoresInFlight,
      spooledBytes: this.outbox.bytes,
      connected: this.options.publisher.connected && (this.options.sparkplug?.publisher.connected ?? true),
    };
  }

  /** Resolves once no score waits or is in flight, the connection is down, or `ms` passed. */
  private async drainScores(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.scores.size > 0 || this.scoresInFlight > 0) && this.options.publisher.connected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private onConnected(): void {
    this.announced.clear();
    this.publishQuietly(this.statusTopic, STATUS_ONLINE);
    this.pumpScores();
  }

  private accept(notice: AlertNotice): void {
    for (const evicted of this.outbox.add(notice)) {
      this.ctx.events.sinkDropped(this.name, 'overflow', 1, `outbox full, oldest notice ${evicted.key} dropped`);
    }
    this.wake?.();
  }

  /** Sends the newest score of each stream while the connection is up and acknowledgements keep up. */
  private pumpScores(): void {
    if (!this.started || this.stopping || !this.options.publisher.connected) return;
    for (const [stream, point] of this.scores) {
      if (this.scoresInFlight >= this.maxInFlight) return;
      this.scores.delete(stream);
      this.announce(point);
      this.scoresInFlight++;
      this.options.publisher.publish(this.options.topics.score(stream), JSON.stringify(scorePayload(point)), true).then(
        () => this.ctx.events.sinkWritten(this.name, 1),
        (error: unknown) => this.scoreFailed(point, error),
      ).finally(() => {
        this.scoresInFlight--;
        this.pumpScores();
      });
    }
  }

  private scoreFailed(point: ScorePoint, error: unknown): void {
    // Closed at stop: counted there with the others.
    if (this.stopping) return;
    // Refused by the broker (MQTT 5 reason code, e.g. not authorised): sending it again cannot help.
    this.ctx.events.sinkDropped(this.name, 'rejected', 1, `score of ${point.stream}: ${errorMessage(error)}`);
  }

  /** Home Assistant discovery configs of a stream, once per connection, before its first score there. */
  private announce(point: ScorePoint): void {
    const prefix = this.options.homeAssistantPrefix;
    if (prefix === undefined || this.announced.has(point.stream)) return;
    this.announced.add(point.stream);
    const topics = { score: this.options.topics.score(point.stream), anomalyAlert: this.options.topics.alert(point.stream, 'anomaly'), status: this.statusTopic };
    for (const m of discoveryMessages(prefix, this.options.clientId, point.stream, point.model, topics)) this.publishDiscovery(m);
  }

  private publishDiscovery(m: DiscoveryMessage): void {
    this.publishQuietly(m.topic, JSON.stringify(m.payload), () => this.announced.clear());
  }

  /** Status and discovery: retained, resent at the next connection; a failure is logged, not counted as a point. */
  private publishQuietly(topic: string, payload: string, onFailure?: () => void): void {
    this.options.publisher.publish(topic, payload, true).catch((error: unknown) => {
      if (this.stopping) return;
      onFailure?.();
      this.ctx.events.sinkError(this.name, false, `publish to ${topic} refused: ${errorMessage(error)}`);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const entry = this.outbox.first();
      if (!entry) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      await this.deliver(entry);
    }
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    const { notice } = entry;
    const topic = this.options.topics.alert(notice.stream, notice.kind);
    const payload = JSON.stringify(alertStatePayload(notice, this.options.externalUrl));
    const published = this.options.publisher.publish(topic, payload, true).then(
      () => 'delivered' as const,
      (error: unknown) => error,
    );
    const outcome = await Promise.race([published, this.stopped.then(() => 'stopped' as const)]);
    if (outcome === 'stopped' || this.stopping) return;
    if (outcome === 'delivered') {
      this.outbox.markDone(entry.key, 'delivered');
      this.ctx.events.sinkWritten(this.name, 1);
      return;
    }
    this.outbox.markDone(entry.key, 'rejected');
    this.ctx.events.sinkDropped(this.name, 'rejected', 1, `notice ${entry.key} to ${topic}: ${errorMessage(outcome)}`);
  }
}
