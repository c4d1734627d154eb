// The OPC UA source: one session with an OPC UA server, one subscription per stream, data changes turned into
// samples (opcuaSamples.ts) and handed to the pipeline.
//
// Delivery guarantees (what OPC UA allows; docs/design.md, "OPC UA input"):
// - The server queues each item's values (queue_size) and keeps every notification message it sent until the
//   client acknowledges it. node-opcua acknowledges a message in the next Publish request, which it sends on a
//   later turn of the event loop; this source delivers the message's samples and then calls `beforeAcks` (the
//   daemon's journal commit) synchronously, before that request can leave. So a message acknowledged to the
//   server has its samples in the sample journal, as an MQTT message acknowledged to the broker has.
// - When the link drops, node-opcua reconnects with backoff, reactivates the session on the new channel (or
//   transfers its subscriptions to a new session) and asks the server to republish the messages it did not
//   receive; the values sampled meanwhile wait in the server's queues. Nothing is lost while the outage stays
//   within the session timeout (the server keeps session and subscriptions) and queue_size × sampling interval
//   (the server drops the oldest values past that and says so: anomalyd_opcua_queue_overflows_total). A server
//   that restarted has lost its queues: the subscriptions are created anew and the gap is the server's.
//   Messages are handed on in sequence-number order (opcuaSequence.ts): node-opcua's republished ones arrive
//   among new ones, and its republish loop can skip some.
// - While the pipeline pushes back (deliver returns a promise), the source stops sending Publish requests, so
//   the values wait in the server's queues instead of in memory.
// - A value whose status is not Good, or that is not a number, is counted per node and not scored.
import type { ClientSession, ClientSubscription, DataValue, NotificationMessage, OPCUAClient, RepublishRequest, RepublishResponse } from 'node-opcua-client';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { OpcuaEvents } from '../core/opcuaEvents';
import { backoffDelayMs, type BackoffOptions } from './backoff';
import { opcuaClient, type OpcuaClientLib } from './opcuaClient';
import { createSubscription, type MonitoredTarget, type OpcuaSubscriptionOptions } from './opcuaItems';
import { hasOverflow, numericValue, qualityOf, SampleAssembler, snapToGrid, type ChannelValue } from './opcuaSamples';
import { certificateStore, explainFailure, ownCertificateFile, presentedCertificate, thumbprintOf, thumbprintOfDer, userIdentity, type OpcuaIdentityOptions, type OpcuaSecurityOptions } from './opcuaSecurity';
import { SequenceGate } from './opcuaSequence';
import type { Deliver, Source, StreamSamples } from './source';
import { withTimeout } from './withTimeout';

export type { OpcuaSubscriptionOptions, OpcuaItemOptions } from './opcuaItems';

export interface OpcuaSourceOptions {
  readonly endpointUrl: string;
  readonly applicationName: string;
  readonly security: OpcuaSecurityOptions;
  readonly identity: OpcuaIdentityOptions;
  readonly sessionTimeoutMs: number;
  readonly reconnect: BackoffOptions;
  readonly subscriptions: readonly OpcuaSubscriptionOptions[];
  readonly events: OpcuaEvents;
  /**
   * Per stream, the time of the last sample an earlier source (replaced by a config reload) delivered: samples
   * not after it are that source's, sent again as the new subscription's first values, and are left out.
   */
  readonly resumeAfter?: ReadonlyMap<string, number>;
}

export class OpcuaSource implements Source {
  readonly name = 'opcua';
  private lib: OpcuaClientLib | null = null;
  private client: OPCUAClient | null = null;
  private session: ClientSession | null = null;
  private readonly subscriptions: ClientSubscription[] = [];
  /** Per subscription: its notification messages in sequence order (opcuaSequence.ts). */
  private readonly gates: SequenceGate<NotificationMessage>[] = [];
  private readonly assembler: SampleAssembler;
  private deliver: Deliver | null = null;
  private beforeAcks: (() => boolean) | null = null;
  private isConnected = false;
  private stopping = false;
  /** stop() began: Publish requests stay suspended while the gates settle. */
  private draining = false;
  private stopped: Promise<void> | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private firstAttempt: (() => void) | null = null;
  /** Deliveries the pipeline has not taken yet; Publish requests wait while there are any. */
  private held = 0;
  private ownThumbprintLogged = false;
  /** While the subscriptions are being created (their first notifications wait). */
  private subscribing = false;
  /** Each subscription's index downstream (a reload that changes the MQTT subscriptions moves them: reindex). */
  private readonly indexes: number[];
  /** Per stream, the time of the last sample delivered (handed to the next source of a reload). */
  private readonly lastDelivered = new Map<string, number>();

  /** No I/O: node-opcua is loaded in start(). */
  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: OpcuaSourceOptions,
  ) {
    this.assembler = new SampleAssembler(options.subscriptions.map((s) => s.items.length));
    this.indexes = options.subscriptions.map((s) => s.index);
    for (const [stream, ts] of options.resumeAfter ?? []) this.lastDelivered.set(stream, ts);
  }

  /** Per stream, the time of the last sample delivered (or inherited through resumeAfter). */
  delivered(): ReadonlyMap<string, number> {
    return new Map(this.lastDelivered);
  }

  /**
   * The subscriptions' indexes downstream, in order, after a reload moved them (the MQTT subscriptions before
   * them changed). Synchronous, so the pipeline's rebinding and this happen on one turn of the event loop.
   */
  reindex(indexes: readonly number[]): void {
    if (indexes.length !== this.indexes.length) throw new Error(`OPC UA source has ${this.indexes.length} subscriptions, not ${indexes.length}`);
    indexes.forEach((index, k) => (this.indexes[k] = index));
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Connects and resolves after the first attempt: subscribed, or failed (then retrying in the background).
   * `beforeAcks` is called after each notification message's samples were delivered, before node-opcua can
   * acknowledge it; false (the journal cannot be written) stops Publish requests until a later call succeeds.
   */
  async start(deliver: Deliver, beforeAcks?: () => boolean): Promise<void> {
    if (this.deliver) throw new Error('OPC UA source already started');
    this.deliver = deliver;
    this.beforeAcks = beforeAcks ?? null;
    const lib = opcuaClient(this.ctx.log);
    this.lib = lib;
    const { security } = this.options;
    const store = await certificateStore(lib, security);
    const c = lib.client;
    const client = c.OPCUAClient.create({
      applicationName: this.options.applicationName,
      endpointMustExist: false,
      securityMode: c.MessageSecurityMode[security.mode],
      securityPolicy: c.SecurityPolicy[security.policy as keyof typeof c.SecurityPolicy],
      clientCertificateManager: store,
      ...(security.certFile !== undefined && security.keyFile !== undefined ? { certificateFile: security.certFile, privateKeyFile: security.keyFile } : {}),
      requestedSessionTimeout: this.options.sessionTimeoutMs,
      keepSessionAlive: true,
      connectionStrategy: {
        initialDelay: this.options.reconnect.minDelayMs,
        maxDelay: this.options.reconnect.maxDelayMs,
        randomisationFactor: this.options.reconnect.jitter,
        maxRetry: -1,
      },
    });
    this.client = client;
    client.on('backoff', (count: number, delay: number) => {
      // The first connection's retries (node-opcua's own, with this backoff): the first one settles start().
      if (count === 0 || !this.isConnected) this.down(`cannot reach ${this.options.endpointUrl}; retrying in ${Math.round(delay)} ms`);
    });
    client.on('connection_lost', () => this.down('connection lost; reconnecting'));
    this.ctx.signal.addEventListener('abort', () => this.clearRetry(), { once: true });
    const first = new Promise<void>((resolve) => (this.firstAttempt = resolve));
    void this.connect();
    await first;
  }

  /** `why` is what the connection event says (a reload replacing the source says so). */
  stop(why = 'source stopped'): Promise<void> {
    this.stopped ??= this.shutdown(why);
    return this.stopped;
  }

  private async shutdown(why: string): Promise<void> {
    // No Publish request from here on (it would acknowledge what arrives next). A gap being filled after a
    // reconnection gets a moment to close (Republish works without Publish requests), then what the gates hold
    // (received, so already acknowledged) is delivered and committed before the source stops taking any.
    this.draining = true;
    suspendPublishing(this.session, true);
    await Promise.all(this.gates.map((gate) => gate.settled(STOP_SETTLE_MS)));
    for (const gate of this.gates) gate.flush();
    const wasConnected = this.isConnected;
    this.stopping = true;
    this.clearRetry();
    this.settleFirstAttempt();
    const client = this.client;
    if (!client) return;
    // Closing the session deletes its subscriptions on the server; what it still queued is not wanted any more.
    const session = this.session;
    if (session) await withTimeout(session.close(true).catch(() => undefined), 5_000);
    await withTimeout(client.disconnect().catch(() => undefined), 5_000);
    this.isConnected = false;
    if (wasConnected) this.options.events.stopped(why);
  }

  /** One connection attempt (node-opcua retries unreachable endpoints itself); a refusal is retried here. */
  private async connect(): Promise<void> {
    const client = this.client;
    const lib = this.lib;
    if (!client || !lib || this.stopping) return;
    try {
      await client.connect(this.options.endpointUrl);
      if (this.stopping) return;
      const session = await client.createSession(userIdentity(lib, this.options.identity));
      this.session = session;
      session.on('session_restored', () => {
        this.options.events.reconnected('session and subscriptions restored; missed notifications republished');
        this.up('link restored');
      });
      await this.subscribe(lib, session);
      this.attempt = 0;
      this.up(`connected to ${this.options.endpointUrl} (${this.options.security.mode}, ${this.options.security.policy})`);
    } catch (err) {
      if (this.stopping) return;
      this.logOwnCertificate(lib);
      const identity = this.options.identity;
      const untrusted = /BadCertificateUntrusted|certificate verification failed/i.test(errorMessage(err));
      const presented = untrusted ? await presentedCertificate(lib, this.options.endpointUrl, this.options.security.mode, this.options.security.policy) : null;
      const why = explainFailure(err, {
        serverThumbprint: thumbprintOfDer(lib, presented),
        ownThumbprint: thumbprintOf(lib, this.options.security.certFile ?? ownCertificateFile(this.options.security.pkiDir)),
        mode: this.options.security.mode,
        policy: this.options.security.policy,
        ...(identity.certFile !== undefined ? { identityCertificate: { file: identity.certFile, thumbprint: thumbprintOf(lib, identity.certFile) } } : {}),
      });
      await this.session?.close(true).catch(() => undefined);
      this.session = null;
      await client.disconnect().catch(() => undefined);
      const delay = backoffDelayMs(this.attempt++, this.options.reconnect);
      this.down(`${why}; retrying in ${delay} ms`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.stopping && !this.ctx.signal.aborted) void this.connect();
      }, delay);
    }
  }

  private async subscribe(lib: OpcuaClientLib, session: ClientSession): Promise<void> {
    this.subscriptions.length = 0;
    for (const gate of this.gates) gate.close();
    this.gates.length = 0;
    let ok = 0;
    let refused = 0;
    // The first values can arrive before the items' handles are known: kept, and taken once they are.
    const early: [SequenceGate<NotificationMessage>, NotificationMessage][] = [];
    this.subscribing = true;
    try {
      for (const [k, opts] of this.options.subscriptions.entries()) {
        // node-opcua gives a subscription it makes again a new id: Republish asks with the current one.
        let subscription: ClientSubscription | null = null;
        // Its items by client handle: node-opcua numbers client handles per subscription (each starts at 1),
        // so a handle names an item only together with its subscription.
        const handles = new Map<number, MonitoredTarget>();
        const gate = new SequenceGate<NotificationMessage>({
          deliver: (message) => this.onNotification(handles, message),
          republish: (seq) => (subscription ? republish(lib, session, subscription.subscriptionId, seq) : Promise.resolve(null)),
          lost: (seq) => this.options.events.notificationLost(opts.stream, seq),
          graceMs: REPUBLISH_GRACE_MS,
        });
        this.gates.push(gate);
        const onMessage = (message: NotificationMessage): void => {
          // Keep-alives carry no data (and the next sequence number, not one of their own).
          if (!message.notificationData || message.notificationData.length === 0) return;
          if (this.subscribing) early.push([gate, message]);
          else gate.push(message);
        };
        const made = await createSubscription(lib, session, k, opts, this.options.sessionTimeoutMs, handles, this.options.events, onMessage);
        subscription = made.subscription;
        subscription.on('subscriptionId_changed', () => this.options.events.subscriptionRecreated(opts.stream));
        this.subscriptions.push(made.subscription);
        ok += made.monitored;
        refused += made.refused;
      }
    } finally {
      this.subscribing = false;
    }
    this.options.events.itemsMonitored(ok, refused);
    for (const [gate, message] of early) gate.push(message);
  }

  /**
   * One notification message of the subscription whose items are `handles`: its data changes become samples,
   * delivered, then the journal commit.
   */
  private onNotification(handles: ReadonlyMap<number, MonitoredTarget>, message: NotificationMessage): void {
    const deliver = this.deliver;
    if (!deliver || this.stopping) return;
    const receivedAt = this.ctx.clock.now();
    const changes: ChannelValue[] = [];
    for (const data of message.notificationData ?? []) {
      const items = (data as { monitoredItems?: { clientHandle: number; value: DataValue }[] | null }).monitoredItems;
      if (!items) continue;
      for (const m of items) {
        const item = handles.get(m.clientHandle);
        if (item) this.take(item, m.value, receivedAt, changes);
      }
    }
    if (changes.length === 0) return;
    const batches = new Map<number, StreamSamples & { samples: { ts: number; values: Float64Array }[] }>();
    for (const s of this.assembler.take(changes)) {
      const opts = this.options.subscriptions[s.subscription];
      if (!opts) continue;
      const after = this.options.resumeAfter?.get(opts.stream);
      if (after !== undefined && s.ts <= after) continue;
      let batch = batches.get(s.subscription);
      if (!batch) {
        batch = { stream: opts.stream, subscription: this.indexes[s.subscription] ?? opts.index, labels: {}, samples: [], receivedAt };
        batches.set(s.subscription, batch);
      }
      batch.samples.push({ ts: s.ts, values: s.values });
      this.lastDelivered.set(opts.stream, s.ts);
    }
    for (const batch of batches.values()) {
      this.ctx.events.messageReceived(`opcua:${batch.stream}`, 0, receivedAt);
      try {
        const pending = deliver(batch);
        if (pending) this.hold(pending);
      } catch (err) {
        this.ctx.log.warn('Pipeline did not accept OPC UA samples.', { stream: batch.stream, error: errorMessage(err) });
      }
    }
    if (this.beforeAcks && !this.beforeAcks()) this.hold(this.commitLater());
  }

  /** One data change: a sample value, or counted (bad status, not a number) and the channel unknown. */
  private take(item: MonitoredTarget, dv: DataValue, receivedAt: number, out: ChannelValue[]): void {
    const events = this.options.events;
    const status = dv.statusCode.value;
    if (hasOverflow(status)) events.queueOverflow(item.ref);
    const serverMs = dv.serverTimestamp ? dv.serverTimestamp.getTime() : null;
    const sourceMs = dv.sourceTimestamp ? dv.sourceTimestamp.getTime() : null;
    const ts = item.timestamps === 'source' ? (sourceMs ?? serverMs ?? receivedAt) : serverMs !== null ? snapToGrid(serverMs, item.gridMs) : receivedAt;
    const quality = qualityOf(status);
    if (quality !== 'good') {
      events.badValue(item.ref, quality, dv.statusCode.name);
      out.push({ target: item.target, ts, value: Number.NaN });
      return;
    }
    const v = numericValue(variantNumber(this.lib, dv));
    if (!v.ok) {
      events.notNumeric(item.ref, v.why);
      out.push({ target: item.target, ts, value: Number.NaN });
      return;
    }
    out.push({ target: item.target, ts, value: v.value });
  }

  /** Stops Publish requests until `pending` settles (the pipeline took the samples, or the journal was written). */
  private hold(pending: Promise<unknown>): void {
    if (this.held++ === 0) suspendPublishing(this.session, true);
    void pending
      .catch((err: unknown) => {
        if (!this.stopping) this.ctx.log.warn('Pipeline did not accept OPC UA samples.', { error: errorMessage(err) });
      })
      .finally(() => {
        if (--this.held === 0 && !this.stopping && !this.draining) suspendPublishing(this.session, false);
      });
  }

  /** Retries the journal commit each second until it succeeds (or the source stops). */
  private async commitLater(): Promise<void> {
    while (!this.stopping && !this.ctx.signal.aborted) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (this.beforeAcks?.() !== false) return;
    }
  }

  private up(detail: string): void {
    this.isConnected = true;
    this.options.events.connection(true, detail);
    this.settleFirstAttempt();
  }

  private down(detail: string): void {
    this.isConnected = false;
    if (!this.stopping) this.options.events.connection(false, detail);
    this.settleFirstAttempt();
  }

  /** The self-signed certificate node-opcua made (no cert_file): once, so the server's admin can trust it. */
  private logOwnCertificate(lib: OpcuaClientLib): void {
    if (this.ownThumbprintLogged || this.options.security.certFile !== undefined || this.options.security.mode === 'None') return;
    const file = ownCertificateFile(this.options.security.pkiDir);
    const thumbprint = thumbprintOf(lib, file);
    if (thumbprint === null) return;
    this.ownThumbprintLogged = true;
    this.ctx.log.info("anomalyd's OPC UA certificate is self-signed; the server must trust it.", { file, thumbprint });
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private settleFirstAttempt(): void {
    this.firstAttempt?.();
    this.firstAttempt = null;
  }
}

/** The Variant's value, with 64-bit integers (node-opcua: [high, low] words) as one number. */
function variantNumber(lib: OpcuaClientLib | null, dv: DataValue): unknown {
  const v = dv.value;
  if (!lib || v.arrayType !== lib.client.VariantArrayType.Scalar) return v.value;
  const { DataType } = lib.client;
  if ((v.dataType === DataType.Int64 || v.dataType === DataType.UInt64) && Array.isArray(v.value) && v.value.length === 2) {
    const [hi = 0, lo = 0] = v.value as number[];
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
  }
  return v.value;
}

/** How long a stopping source waits for gaps in the sequence numbers to fill before giving them up as lost. */
const STOP_SETTLE_MS = 3_000;

/** How long a gap in the sequence numbers waits for node-opcua's own republish before the source asks. */
const REPUBLISH_GRACE_MS = 300;

/** Notification message `seq` of a subscription again (Republish), or null when the server no longer has it. */
function republish(lib: OpcuaClientLib, session: ClientSession, subscriptionId: number, seq: number): Promise<NotificationMessage | null> {
  const request = new lib.client.RepublishRequest({ subscriptionId, retransmitSequenceNumber: seq });
  return new Promise((resolve) => {
    // ClientSessionImpl has republish; the public ClientSession type does not say so.
    const impl = session as unknown as { republish(r: RepublishRequest, cb: (err: Error | null, response?: RepublishResponse) => void): void };
    impl.republish(request, (err, response) => resolve(!err && response?.responseHeader.serviceResult.isGood() ? response.notificationMessage : null));
  });
}

/** node-opcua's ClientSessionImpl has the publish engine; its public ClientSession type does not say so. */
function suspendPublishing(session: ClientSession | null, suspended: boolean): void {
  (session as { getPublishEngine?: () => { suspend(s: boolean): void } } | null)?.getPublishEngine?.().suspend(suspended);
}
