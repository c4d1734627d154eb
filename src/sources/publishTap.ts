// Incoming PUBLISH packets taken straight from the connection's bytes, around mqtt.js's parser.
//
// Why: receiving was the larger part of the daemon's cost per message. mqtt.js hands every packet through
// mqtt-packet's parser (a BufferList append and a copy of the payload), a nextTick, an event and some fifteen
// debug-logger calls before its handler sees it; the ingest profile put that at about a third of the daemon's
// CPU, more than decoding, windows, journal and scoring together. A PUBLISH of MQTT 3.1.1 at QoS 0 or 1 is a
// few header bytes, a topic and a payload: read here, its payload a view of the received chunk, and handed to
// `client.handleMessage` with the acknowledgement mqtt.js would send (a PUBACK through `_sendPacket`, so
// pubackBatcher.ts still batches it), exactly as mqtt.js's own publish handler does. Everything else (CONNACK,
// SUBACK, PINGRESP, QoS 2, anything malformed, every PUBLISH before the session is up) passes to mqtt.js as
// bytes, untouched, so connecting, subscribing, keepalive, reconnects and errors stay mqtt.js's.
//
// Order and backpressure are mqtt.js's too: packets are taken one at a time in arrival order, and the next is
// not taken before the handler called back; while it has not, the socket is paused, so a pipeline that pushes
// back leaves messages at the broker. Until mqtt.js has processed the CONNACK (its 'connect' event) later bytes
// wait here, so no message is handled before the client counts as connected.
//
// Installed by wrapping mqtt.js's stream builder (a private field, like `_sendPacket`): with an mqtt.js that
// has neither, nothing is wrapped and mqtt.js receives by itself.
//
// MQTT 5 is taken the same way: its PUBLISH has the same fixed header, topic and packet id, then properties (a
// length, a variable byte integer, and that many bytes) before the payload. The properties are skipped, not
// decoded: the message handler reads topic and payload only. A PUBLISH with an empty topic uses a topic alias,
// which lives in mqtt.js's session state: it goes to mqtt.js (the broker sends aliases only to a client that
// advertised a Topic Alias Maximum, which anomalyd does not). The PUBACK is the one mqtt.js sends for an
// accepted message: reason code 0, no properties.
//
// Memory is bounded by `maxPayloadBytes`: a PUBLISH whose payload is larger is known from its length header,
// topic and packet id, so only those are read; its payload is discarded as it arrives, never held, and the
// message is reported through `oversize` and, at QoS 1, acknowledged (as a payload the decoder rejects would be:
// a poison message must not come back forever). The most the tap holds is then one packet of at most
// `maxPayloadBytes` plus its header and topic (under MQTT 5 also its properties, which may not be larger than
// `maxPayloadBytes` either: a PUBLISH whose properties are is skipped the same way). A packet that stops arriving half-way would still hold up to that
// much until the keepalive noticed (by then 1.5 keepalives); `partialTimeoutMs` closes the connection sooner
// when no byte of an incomplete packet arrived for that long (mqtt.js then reconnects as after any drop).
import { Duplex } from 'node:stream';
import type { IPublishPacket, MqttClient } from 'mqtt';

type StreamBuilder = (client: MqttClient) => Duplex;

interface ClientInternals {
  streamBuilder?: StreamBuilder;
  _sendPacket?: (packet: { cmd: 'puback'; messageId: number; reasonCode: number }, cb?: () => void) => void;
  readonly options: { protocolVersion?: number };
}

const PUBLISH = 3;
const CONNACK = 2;
const noop = (): void => undefined;

/** Which part of a PUBLISH was over the limit. */
export type OversizePart = 'payload' | 'properties';

export interface PublishTapOptions {
  /** PUBLISHes with a larger payload are skipped unread and reported through `oversize`; default unlimited. */
  readonly maxPayloadBytes?: number;
  /**
   * A PUBLISH skipped for its size: its topic and the size of the part over the limit, its payload or (MQTT 5)
   * its properties (called before its PUBACK at QoS 1).
   */
  readonly oversize?: (topic: string, bytes: number, part: OversizePart) => void;
  /** An incomplete packet that received no byte for this long closes the connection; 0 (default) never. */
  readonly partialTimeoutMs?: number;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5 (PUBLISH properties between packet id and payload). */
  readonly protocolVersion?: number;
}

/** Makes `client` receive QoS 0/1 PUBLISH packets through a PublishTap. False when this client cannot be tapped. */
export function tapPublishes(client: MqttClient, options: PublishTapOptions = {}): boolean {
  const internals = client as unknown as ClientInternals;
  const build = internals.streamBuilder;
  if (typeof build !== 'function' || typeof internals._sendPacket !== 'function') return false;
  // Looked up per ack, not captured: pubackBatcher.ts may wrap `_sendPacket` after this.
  const puback = (messageId: number): void => internals._sendPacket?.call(client, { cmd: 'puback', messageId, reasonCode: 0 }, noop);
  const tapOptions = { ...options, protocolVersion: internals.options.protocolVersion ?? 4 };
  internals.streamBuilder = (c) => new PublishTap(build.call(c, c), c, puback, tapOptions);
  return true;
}

/** The connection's stream as mqtt.js sees it: writes go to the socket, reads are the socket minus the PUBLISHes taken. */
export class PublishTap extends Duplex {
  /** Received bytes not yet taken: `buf` from `offset` on, then `parts`. */
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes the incomplete packet at `offset` needs in all (0: not known yet). */
  private awaiting = 0;
  /** A handler has not called back yet: nothing further is taken. */
  private waiting = false;
  /** PUBLISHes are taken here only once mqtt.js has processed the CONNACK. */
  private live = false;
  /** Passed a CONNACK to mqtt.js: the bytes after it wait for its 'connect'. */
  private holding = false;
  /** Something unparseable arrived: the rest of the connection goes to mqtt.js as it is. */
  private passthrough = false;
  /** mqtt.js's side is full: the socket waits for _read. */
  private consumerFull = false;
  /** Bytes of an oversize PUBLISH still to arrive and be discarded. */
  private skipping = 0;
  private readonly maxPayloadBytes: number;
  private readonly partialTimeoutMs: number;
  /** MQTT 5: PUBLISH properties follow the packet id. */
  private readonly v5: boolean;
  /** Chunks received, for the partial-packet timer to see progress without a clock read per chunk. */
  private chunks = 0;
  private partialTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly inner: Duplex,
    private readonly client: MqttClient,
    private readonly puback: (messageId: number) => void,
    private readonly options: PublishTapOptions = {},
  ) {
    super({ allowHalfOpen: true });
    this.maxPayloadBytes = options.maxPayloadBytes ?? Infinity;
    this.partialTimeoutMs = options.partialTimeoutMs ?? 0;
    this.v5 = options.protocolVersion === 5;
    inner.on('data', (chunk: Buffer) => this.received(chunk));
    inner.on('end', () => this.push(null));
    inner.on('error', (err: Error) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    this.consumerFull = false;
    this.resumeInner();
  }

  // Writes go to the socket as mqtt.js would make them unwrapped: at once (the socket buffers; only its
  // backpressure holds the next), corked groups as one. A failed write also fails the socket, whose own first
  // error ends this stream (above), as mqtt.js would see it: waiting for each write to flush, or passing the
  // write's error on, turned a broker's TLS alert ("certificate required") into a later write's ECONNRESET.
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.afterWrite(this.inner.write(chunk), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this.inner.cork();
    let ok = true;
    for (const { chunk } of chunks) ok = this.inner.write(chunk);
    this.inner.uncork();
    this.afterWrite(ok, callback);
  }

  private afterWrite(ok: boolean, callback: (err?: Error | null) => void): void {
    if (ok) callback();
    else this.inner.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.inner.end(callback);
  }

  /** Received bytes held, not yet taken (what the memory bound is about). */
  get heldBytes(): number {
    return this.buf.length - this.offset + this.partsBytes;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.clearPartialTimer();
    this.inner.destroy(err ?? undefined);
    callback(err);
  }

  private received(chunk: Buffer): void {
    if (this.passthrough) {
      this.forward(chunk);
      return;
    }
    this.chunks++;
    if (this.skipping > 0) {
      if (chunk.length <= this.skipping) {
        this.skipping -= chunk.length;
        this.armPartialTimer();
        return;
      }
      chunk = chunk.subarray(this.skipping);
      this.skipping = 0;
    }
    if (this.offset >= this.buf.length) {
      this.buf = chunk;
      this.offset = 0;
    } else {
      // A packet larger than a read arrives in many chunks: they are joined once it is complete, not at each read.
      this.parts.push(chunk);
      this.partsBytes += chunk.length;
      if (this.buf.length - this.offset + this.partsBytes < this.awaiting) {
        this.armPartialTimer();
        return;
      }
    }
    this.takePackets();
    if (this.offset < this.buf.length || this.skipping > 0) this.armPartialTimer();
  }

  private joinParts(): void {
    if (this.parts.length === 0) return;
    this.buf = Buffer.concat([this.buf.subarray(this.offset), ...this.parts]);
    this.offset = 0;
    this.parts = [];
    this.partsBytes = 0;
  }

  /** Takes whole packets in order until one is incomplete, a handler has not called back, or a CONNACK is pending. */
  private takePackets(): void {
    this.joinParts();
    const buf = this.buf;
    while (!this.waiting && !this.holding && !this.destroyed) {
      const start = this.offset;
      if (start >= buf.length) break;
      // Remaining length: 1 to 4 bytes, 7 bits each, least significant first.
      let length = 0;
      let factor = 1;
      let at = start + 1;
      let complete = false;
      for (let i = 0; i < 4 && at < buf.length; i++) {
        const byte = buf[at++];
        length += (byte & 0x7f) * factor;
        factor *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        this.awaiting = 0;
        if (at - start > 4) this.giveUp();
        break;
      }
      const end = at + length;
      const first = buf[start];
      const type = first >> 4;
      const qos = (first >> 1) & 3;
      // Larger than any payload allowed even with an empty topic: maybe oversize, read no further than its header.
      if (length > this.maxPayloadBytes + 2 && this.live && type === PUBLISH && qos <= 1) {
        const need = this.skipOversize(buf, start, at, end, qos);
        if (need > 0) {
          this.awaiting = need;
          break;
        }
        if (need < 0) continue;
      }
      if (end > buf.length) {
        this.awaiting = end - start;
        break;
      }
      this.awaiting = 0;
      this.offset = end;
      if (this.live && type === PUBLISH && qos <= 1 && this.publish(buf, first, qos, at, end)) continue;
      if (type === CONNACK && !this.live) this.awaitConnect();
      this.forward(buf.subarray(start, end));
    }
    if (this.offset >= buf.length) {
      this.buf = Buffer.alloc(0);
      this.offset = 0;
    }
  }

  /**
   * A PUBLISH at `start` whose remaining length `at`..`end` may exceed the payload limit. Returns the bytes of the
   * packet needed before its topic and packet id (and MQTT 5 properties length) can be read (> 0), -1 when it
   * was oversize and is skipped (the rest of it, past the received bytes, discarded as it arrives), 0 when it is
   * within the limit after all (or malformed: mqtt.js gets it).
   */
  private skipOversize(buf: Buffer, start: number, at: number, end: number, qos: number): number {
    if (at + 2 > buf.length) return at + 2 - start;
    const topicEnd = at + 2 + buf.readUInt16BE(at);
    const idEnd = topicEnd + (qos > 0 ? 2 : 0);
    if (idEnd > end) return 0;
    if (idEnd > buf.length) return idEnd - start;
    let payloadStart = idEnd;
    let part: OversizePart = 'payload';
    let bytes = end - idEnd;
    if (this.v5) {
      const props = readVarInt(buf, idEnd, end);
      if (props === 'short') return Math.min(idEnd + 4, end) - start;
      if (props === 'bad') return 0;
      payloadStart = props.next + props.value;
      bytes = end - payloadStart;
      // Properties over the limit are skipped unread like a payload would be (even when they claim more bytes
      // than the packet has: holding the packet to let mqtt.js refuse it would be unbounded).
      if (props.value > this.maxPayloadBytes) {
        part = 'properties';
        bytes = props.value;
      } else if (payloadStart > end) {
        return 0;
      }
    }
    if (part === 'payload' && bytes <= this.maxPayloadBytes) return 0;
    this.awaiting = 0;
    if (end <= buf.length) {
      this.offset = end;
    } else {
      this.offset = buf.length;
      this.skipping = end - buf.length;
    }
    this.options.oversize?.(buf.toString('utf8', at + 2, topicEnd), bytes, part);
    if (qos > 0) this.puback(buf.readUInt16BE(topicEnd));
    return -1;
  }

  /** Hands one PUBLISH to mqtt.js's message handler; false when the packet is malformed (mqtt.js then gets it). */
  private publish(buf: Buffer, first: number, qos: number, at: number, end: number): boolean {
    if (end - at < 2) return false;
    const topicLength = buf.readUInt16BE(at);
    const topicEnd = at + 2 + topicLength;
    let payloadStart = topicEnd + (qos > 0 ? 2 : 0);
    if (payloadStart > end) return false;
    const messageId = qos > 0 ? buf.readUInt16BE(topicEnd) : undefined;
    if (this.v5) {
      // An empty topic is a topic alias: mqtt.js's to resolve (or refuse).
      if (topicLength === 0) return false;
      const props = readVarInt(buf, payloadStart, end);
      if (typeof props === 'string') return false;
      payloadStart = props.next + props.value;
      if (payloadStart > end) return false;
    }
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: buf.toString('utf8', at + 2, topicEnd),
      payload: buf.subarray(payloadStart, end),
      qos: qos as 0 | 1,
      dup: (first & 0x08) !== 0,
      retain: (first & 0x01) !== 0,
      messageId,
      length: end - at,
    };
    let sync = true;
    this.waiting = true;
    this.client.handleMessage(packet, (err) => {
      // As mqtt.js: a refused message is not acknowledged (the broker sends it again on the next session).
      if (!err && messageId !== undefined) this.puback(messageId);
      this.waiting = false;
      if (!sync) {
        this.resumeInner();
        this.takePackets();
      }
    });
    sync = false;
    if (this.waiting) this.inner.pause();
    return true;
  }

  /**
   * Watches an incomplete packet: closes the connection when no byte arrived in a whole period while it was
   * incomplete (so after one to two periods of silence). One timer per period, not one per chunk.
   */
  private armPartialTimer(): void {
    const ms = this.partialTimeoutMs;
    if (!(ms > 0) || this.partialTimer || this.destroyed) return;
    const seen = this.chunks;
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      if (this.destroyed || (this.heldBytes === 0 && this.skipping === 0)) return;
      // Waiting on the handler or on mqtt.js paused the socket ourselves: that is not the broker stalling.
      if (this.chunks !== seen || this.waiting || this.consumerFull || this.holding) {
        this.armPartialTimer();
        return;
      }
      // With a code, as a socket's own errors: mqtt.js passes only those on to its 'error' event (the log's reason).
      this.destroy(Object.assign(new Error(`MQTT packet incomplete: no byte of it arrived for ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    this.partialTimer.unref();
  }

  private clearPartialTimer(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  private awaitConnect(): void {
    this.holding = true;
    const release = (): void => {
      this.client.removeListener('connect', release);
      this.client.removeListener('close', release);
      if (this.destroyed) return;
      this.live = this.client.connected;
      this.holding = false;
      // Not from inside mqtt.js's packet handling: the held bytes are taken on the next turn.
      setImmediate(() => this.takePackets());
    };
    this.client.on('connect', release);
    this.client.on('close', release);
  }

  private giveUp(): void {
    this.passthrough = true;
    const rest = this.buf.subarray(this.offset);
    this.buf = Buffer.alloc(0);
    this.offset = 0;
    this.forward(rest);
  }

  private forward(bytes: Buffer): void {
    if (!this.push(bytes)) {
      this.consumerFull = true;
      this.inner.pause();
    }
  }

  private resumeInner(): void {
    if (!this.waiting && !this.consumerFull) this.inner.resume();
  }
}

/**
 * A variable byte integer (MQTT 5 property length: 1 to 4 bytes, 7 bits each, least significant first) at
 * `from`, read no further than `end` (the packet's end) or the received bytes: 'short' when more bytes are
 * needed, 'bad' when it is malformed.
 */
function readVarInt(buf: Buffer, from: number, end: number): { value: number; next: number } | 'short' | 'bad' {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 4; i++) {
    const at = from + i;
    if (at >= end) return 'bad';
    if (at >= buf.length) return 'short';
    const byte = buf[at];
    value += (byte & 0x7f) * factor;
    factor *= 128;
    if ((byte & 0x80) === 0) return { value, next: at + 1 };
  }
  return 'bad';
}
