// One sparkplug_b subscription at work: its topic route, its edge nodes' state (sparkplugState.ts) and what each
// message's outcome asks for: streams going offline or online (to the pipeline, through the MQTT source), metrics
// counted as rejected, sequence gaps counted, and rebirth requests, an NCMD `Node Control/Rebirth` = true to
// spBv1.0/<group>/NCMD/<edge>, sent only where the subscription allows it (sparkplug.rebirth_requests) and at
// most once per edge node per sparkplug.rebirth_min_interval_ms.
//
// The MQTT source asks for a decoder per topic (once: the topic router caches it), so the topic is parsed once and
// a message costs the protobuf read and the state update. The session outlives config reloads that keep the
// subscription's topic, stream and channels (MqttSource), so a reload does not forget the births.
import { get as sparkplugCodec } from 'sparkplug-payload';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { DecodeResult, PayloadDecoder } from './decoders';
import { timeLimits, type TimestampOptions } from './decodeValues';
import { readSparkplugPayload } from './sparkplugPayload';
import { SparkplugNodes, type LivenessChange } from './sparkplugState';
import { parseSparkplugTopic, sparkplugMatches, sparkplugStream, type SparkplugTopic } from './sparkplugTopic';
import type { TopicRoute } from './topics';

export interface SparkplugSettings {
  /** Send NCMD rebirth requests (off by default: anomalyd then only reads). */
  readonly rebirthRequests: boolean;
  /** Shortest time between two rebirth requests to one edge node (ms). */
  readonly rebirthMinIntervalMs: number;
}

export const DEFAULT_SPARKPLUG: SparkplugSettings = { rebirthRequests: false, rebirthMinIntervalMs: 30_000 };

export interface SparkplugSessionOptions {
  readonly topic: string;
  /** Stream id pattern of {group}, {edge} and {device}. */
  readonly stream: string;
  /** What stands for {device} in the stream of an edge node's own metrics (sparkplugNodePattern); absent: removed. */
  readonly nodeDevice?: string;
  /** null: each node's and device's channels are learnt from its births. */
  readonly channels: readonly string[] | null;
  readonly timestamp: TimestampOptions;
  readonly maxPayloadBytes: number;
  readonly settings: SparkplugSettings;
}

export interface SparkplugHooks {
  /** Publishes a command (QoS 0, not retained); rejects when it cannot be sent. */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** A stream went offline (death) or online (birth) at `time`. */
  liveness(change: LivenessChange, time: number): void;
}

export type { RebirthResult } from '../core/context';

/** The metric an edge node rebirths on (Sparkplug B specification, Node Control/Rebirth). */
export const REBIRTH_METRIC = 'Node Control/Rebirth';

export class SparkplugSession {
  private readonly nodes: SparkplugNodes;
  private settings: SparkplugSettings;
  /** When each edge node was last asked to rebirth (bounded: cleared when large). */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly ctx: ComponentContext,
    readonly options: SparkplugSessionOptions,
    private readonly hooks: SparkplugHooks,
  ) {
    const { timestamp } = options;
    this.nodes = new SparkplugNodes({ channels: options.channels, timestampSource: timestamp.source, limits: timeLimits(timestamp) });
    this.settings = options.settings;
  }

  /** The key under which a reloaded config keeps this session: same topic, stream pattern, channels and times. */
  static key(o: SparkplugSessionOptions): string {
    return JSON.stringify([o.topic, o.stream, o.nodeDevice ?? null, o.channels, o.timestamp, o.maxPayloadBytes]);
  }

  /** A config reload kept the session: its rebirth settings may have changed. */
  updateSettings(settings: SparkplugSettings): void {
    this.settings = settings;
  }

  /** Edge nodes known, and how many are online. */
  counts(): { nodes: number; online: number } {
    return this.nodes.counts();
  }

  /** The subscription's topic route: Sparkplug topics to stream ids. */
  route(): TopicRoute {
    const { topic, stream, nodeDevice } = this.options;
    return {
      filter: topic,
      resolve: (t) => {
        if (!sparkplugMatches(topic, t)) return null;
        const parsed = parseSparkplugTopic(t);
        return typeof parsed === 'string' ? { ok: false, detail: parsed } : sparkplugStream(stream, parsed, nodeDevice);
      },
    };
  }

  /** The decoder of one topic (the router asks once per topic); `stream` is the topic's stream id. */
  decoderFor(topic: string, stream: string): PayloadDecoder {
    const parsed = parseSparkplugTopic(topic);
    if (typeof parsed === 'string') return () => ({ ok: false, reason: 'invalid_sparkplug', detail: parsed });
    return (payload, arrival) => this.decode(topic, parsed, stream, payload, arrival);
  }

  private decode(topic: string, t: SparkplugTopic, stream: string, bytes: Uint8Array, arrival: number): DecodeResult {
    const { events } = this.ctx;
    if (bytes.length > this.options.maxPayloadBytes) return { ok: false, reason: 'oversize', detail: `payload of ${bytes.length} bytes exceeds ${this.options.maxPayloadBytes}` };
    events.sparkplugMessage(t.type);
    let payload;
    try {
      payload = readSparkplugPayload(bytes);
    } catch (err) {
      return { ok: false, reason: 'invalid_sparkplug', detail: `not a Sparkplug B payload: ${errorMessage(err)}` };
    }
    const out = this.nodes.handle({ topic: t, stream: t.type === 'STATE' ? null : stream, payload, arrival });
    for (const change of out.liveness) this.hooks.liveness(change, arrival);
    for (const note of out.notes) events.messageRejected(note.reason, topic, note.detail);
    if (out.seqGap) events.sparkplugSequenceGap(`${t.group}/${t.edge}`, out.seqGap.expected, out.seqGap.got);
    if (out.rebirth !== undefined) this.requestRebirth(t, out.rebirth, arrival);
    if (out.rejected) return { ok: false, reason: out.rejected.reason, detail: out.rejected.detail };
    return out.channels ? { ok: true, samples: out.samples, channels: out.channels } : { ok: true, samples: out.samples };
  }

  /** Asks the edge node for its births, where allowed and not asked too recently; the outcome is counted. */
  requestRebirth(t: Pick<SparkplugTopic, 'group' | 'edge'>, why: string, now: number): void {
    const node = `${t.group}/${t.edge}`;
    const { events } = this.ctx;
    if (!this.settings.rebirthRequests) {
      events.sparkplugRebirth(node, why, 'disabled', 'sparkplug.rebirth_requests is off');
      return;
    }
    const last = this.asked.get(node);
    if (last !== undefined && now - last < this.settings.rebirthMinIntervalMs) {
      events.sparkplugRebirth(node, why, 'rate_limited', `asked ${now - last} ms ago`);
      return;
    }
    if (this.asked.size >= 10_000) this.asked.clear();
    this.asked.set(node, now);
    const topic = `spBv1.0/${t.group}/NCMD/${t.edge}`;
    const codec = sparkplugCodec('spBv1.0');
    if (!codec) throw new Error('sparkplug-payload has no spBv1.0 codec');
    const payload = codec.encodePayload({ timestamp: now, metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true }] });
    this.hooks.publish(topic, payload).then(
      () => events.sparkplugRebirth(node, why, 'sent', topic),
      (err: unknown) => events.sparkplugRebirth(node, why, 'failed', errorMessage(err)),
    );
  }
}
