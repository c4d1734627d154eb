// Scale-out: how a replica knows which streams are its own when several run against one broker.
import { Type } from '@sinclair/typebox';
import { patternMessages, section } from './schemaHelpers';

const indexPattern = '^(0|[1-9][0-9]{0,3}|hostname)$';
patternMessages.set(indexPattern, 'must be a shard number (0, 1, 2, ...) or "hostname"');

export const shardSchema = section(
  {
    count: Type.Integer({
      minimum: 1,
      maximum: 1_000,
      default: 1,
      description:
        'Replicas the streams are partitioned across. Each stream belongs to exactly one shard, chosen by a stable hash of its stream id (FNV-1a 64 + jump consistent hash), so every replica agrees without talking to the others; messages of other shards are acknowledged and counted (anomalyd_messages_other_shard_total), not scored. 1 = this replica scores every stream. Every replica needs the same count.',
    }),
    index: Type.String({
      pattern: indexPattern,
      default: '0',
      description:
        'This replica\'s shard, 0 to count - 1, or "hostname" to take it from the host name\'s trailing ordinal (a StatefulSet pod anomalyd-2 is shard 2).',
    }),
  },
  'Partitioning of streams across replicas (see "Scale-out").',
);
