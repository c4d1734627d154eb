// PUBACKs in batches: every QoS 1 acknowledgement given during one turn of the event loop goes out in a single
// socket write at the end of that turn. mqtt.js writes each PUBACK on its own (a packet object, three stream
// writes, a cork and a nextTick, an event): in the ingest profile that cost more than decoding the message.
//
// This wraps mqtt.js's internal `_sendPacket` (mqtt.js has no public hook for acknowledgements). It changes
// when an ack is written, never whether: the ack is still given only once the message was accepted (the caller
// of `_sendPacket` decides that), and anything else mqtt.js sends first flushes the acks given before it, so the
// broker sees packets in the order mqtt.js produced them. An ack for a connection that closed before the flush
// goes back to mqtt.js, which treats it as it always does. With a different mqtt.js (no `_sendPacket`) nothing
// is wrapped and mqtt.js acknowledges by itself.
//
// `beforeFlush` (the daemon's journal commit) runs before each batch is written; while it returns false (the
// journal cannot be written) the acks are held and the flush retried, so no message is acknowledged whose
// samples are not safe. Held acks of a connection that closed meanwhile are dropped: the broker sends those
// messages again on the next connection.
import type { MqttClient } from 'mqtt';

interface OutgoingPacket {
  readonly cmd: string;
  readonly messageId?: number;
  readonly reasonCode?: number;
  readonly properties?: unknown;
}

type Done = (err?: Error) => void;
type SendPacket = (packet: OutgoingPacket, cb?: Done, ...rest: unknown[]) => void;

interface ClientInternals {
  _sendPacket?: SendPacket;
  readonly stream: { write(chunk: Buffer): boolean };
  readonly connected: boolean;
}

/** A PUBACK, MQTT 3.1.1 and MQTT 5 with reason code 0 and no properties alike: type, length 2, packet id. */
export function encodePubacks(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 0x02;
    out[i * 4 + 2] = id >> 8;
    out[i * 4 + 3] = id & 0xff;
  }
  return out;
}

/** A flush held back by `beforeFlush` is tried again after this long. */
const HELD_RETRY_MS = 200;

/** Makes `client` write its PUBACKs in batches (see above). Returns false when this mqtt.js cannot be wrapped. */
export function batchPubacks(client: MqttClient, beforeFlush: () => boolean = () => true): boolean {
  const internals = client as unknown as ClientInternals;
  const original = internals._sendPacket;
  if (typeof original !== 'function') return false;
  const send: SendPacket = (packet, cb, ...rest) => original.call(client, packet, cb, ...rest);
  let ids: number[] = [];
  let stream: ClientInternals['stream'] | null = null;
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (ids.length === 0) return;
    if (!beforeFlush()) {
      scheduled = true;
      setTimeout(flush, HELD_RETRY_MS).unref();
      return;
    }
    const batch = ids;
    const on = stream;
    ids = [];
    stream = null;
    if (internals.connected && internals.stream === on && on !== null) {
      on.write(encodePubacks(batch));
      return;
    }
    // The connection they belong to is gone: mqtt.js decides, as it would have for each of them.
    for (const messageId of batch) send({ cmd: 'puback', messageId, reasonCode: 0 });
  };

  internals._sendPacket = (packet, cb, ...rest) => {
    const plain = packet.cmd === 'puback' && typeof packet.messageId === 'number' && !packet.reasonCode && packet.properties === undefined;
    if (!plain || !internals.connected) {
      flush();
      if (plain && !beforeFlush()) {
        // Not safe yet and no connection to hold it for: its message comes again on the next connection.
        cb?.();
        return;
      }
      send(packet, cb, ...rest);
      return;
    }
    // Reconnected since the last ack: those of the old connection are settled first (or dropped, when held).
    if (stream !== null && internals.stream !== stream) {
      flush();
      ids = [];
    }
    stream = internals.stream;
    ids.push(packet.messageId);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    // mqtt.js takes the next message once this returns: the ack is as good as written (the flush cannot block).
    cb?.();
  };
  return true;
}
