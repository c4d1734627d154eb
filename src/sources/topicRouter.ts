// Which subscription, stream, labels and decoder a topic's messages go to, resolved once per topic.
//
// A plant publishes on a fixed set of topics, so the MQTT source asks for the same few thousand topics over and
// over: matching every subscription's filter, building the stream id from the template and checking it cost
// several lookups per message in the ingest profile. Here a message costs one Map lookup; the result (the same
// frozen object for every message of the topic, labels included) is what the journal and the pipeline see, so
// their own per-stream caches hit on identity too.
//
// The cache is bounded (a flood of distinct topics costs recomputation, never memory) and belongs to one
// subscription list: a config reload builds a new router, so no topic is routed by a rule that no longer exists.
import type { PayloadDecoder } from './decoders';
import type { TopicRoute } from './topics';

/** One compiled subscription: its index in the config, topic rule and payload decoder. */
export interface SubscriptionRoute {
  readonly index: number;
  readonly route: TopicRoute;
  readonly decode: PayloadDecoder;
  /** A decoder per topic (Sparkplug B, whose messages depend on the topic's parts); absent: `decode` for all. */
  readonly decodeFor?: (topic: string, stream: string) => PayloadDecoder;
}

/** Where a topic's messages go, or why they are refused (`unknown_stream`). */
export type TopicTarget =
  | {
      readonly ok: true;
      readonly subscription: number;
      readonly stream: string;
      readonly labels: Readonly<Record<string, string>>;
      readonly decode: PayloadDecoder;
    }
  | { readonly ok: false; readonly detail: string };

/** Topics remembered per router; about the stream limit of a large plant, a few MB at most. */
export const TOPIC_CACHE_MAX = 20_000;

const NO_SUBSCRIPTION: TopicTarget = Object.freeze({ ok: false, detail: 'no configured subscription matches the topic' });

export class TopicRouter {
  private readonly cache = new Map<string, TopicTarget>();

  constructor(
    readonly subscriptions: readonly SubscriptionRoute[],
    private readonly maxTopics = TOPIC_CACHE_MAX,
  ) {}

  /** The target of `topic`: the first subscription (config order) whose filter matches it decides. */
  resolve(topic: string): TopicTarget {
    const hit = this.cache.get(topic);
    if (hit !== undefined) return hit;
    const target = this.lookup(topic);
    if (this.cache.size >= this.maxTopics) this.cache.clear();
    this.cache.set(topic, target);
    return target;
  }

  /** Topics cached now (tests). */
  get size(): number {
    return this.cache.size;
  }

  private lookup(topic: string): TopicTarget {
    for (const s of this.subscriptions) {
      const resolved = s.route.resolve(topic);
      if (resolved === null) continue;
      if (!resolved.ok) return Object.freeze({ ok: false, detail: resolved.detail });
      // Frozen, labels too: every message of the topic shares them, so no consumer may change another's.
      const decode = s.decodeFor ? s.decodeFor(topic, resolved.stream) : s.decode;
      return Object.freeze({ ok: true, subscription: s.index, stream: resolved.stream, labels: Object.freeze(resolved.labels), decode });
    }
    // A persistent session keeps subscriptions of an earlier configuration: their messages land here.
    return NO_SUBSCRIPTION;
  }
}
