// The periodic `anomalyd_health` point: what an operator graphs beside the scores to tell a quiet plant from a
// daemon that stopped receiving (ingest rate, rejections, broker connection) or fell behind (queue depth).
import type { ShardConfig } from '../config/schema';
import { resolveShard } from '../config/shard';
import type { HealthPoint } from '../sinks/sink';
import type { IngestionSummary } from '../telemetry/status';

export interface PipelineHealth {
  readonly streams: number;
  readonly queueDepth: number;
  readonly rssBytes: number;
}

export function healthPoint(time: number, shard: ShardConfig, ingestion: IngestionSummary, pipeline: PipelineHealth): HealthPoint {
  return {
    time,
    tags: replicaTags(shard),
    fields: {
      streams: pipeline.streams,
      queue_depth: pipeline.queueDepth,
      rss_bytes: pipeline.rssBytes,
      messages_per_second: ingestion.messagesPerSecond,
      messages_total: ingestion.messagesTotal,
      rejected_total: ingestion.rejectedTotal,
      mqtt_connected: ingestion.mqttConnected ? 1 : 0,
    },
  };
}

/**
 * Under scale-out each replica's points get a `shard` tag, so they form a series of their own instead of
 * interleaving in one (every replica writes at its own instants). One replica writes no tag: its series
 * stays the one it always was.
 */
function replicaTags(shard: ShardConfig): Record<string, string> {
  if (shard.count <= 1) return {};
  const resolved = resolveShard(shard);
  return { shard: resolved.ok ? String(resolved.spec.index) : 'unresolved' };
}
