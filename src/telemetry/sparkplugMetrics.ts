// The Sparkplug B input's metrics (docs/design.md, "Prometheus metrics"): messages by type, sequence gaps, rebirth
// requests by result, and stream liveness changes. Every label value is listed, so each series exists (at 0) from
// the first scrape.
import { Counter, type Registry } from 'prom-client';
import type { RebirthResult } from '../core/context';

export const SPARKPLUG_MESSAGE_TYPES = ['NBIRTH', 'NDATA', 'NDEATH', 'NCMD', 'DBIRTH', 'DDATA', 'DDEATH', 'DCMD', 'STATE'] as const;
const REBIRTH_RESULTS: Record<RebirthResult, true> = { sent: true, rate_limited: true, disabled: true, failed: true };

export interface SparkplugMetrics {
  readonly messages: Counter<'type'>;
  readonly sequenceGaps: Counter;
  readonly rebirths: Counter<'result'>;
  readonly liveness: Counter<'state'>;
}

export function createSparkplugMetrics(registers: Registry[]): SparkplugMetrics {
  const m: SparkplugMetrics = {
    messages: new Counter({ name: 'anomalyd_sparkplug_messages_total', help: 'Sparkplug B messages received (decoder sparkplug_b), by message type.', labelNames: ['type'], registers }),
    sequenceGaps: new Counter({
      name: 'anomalyd_sparkplug_sequence_gaps_total',
      help: "Sparkplug B messages whose seq was not one more than their edge node's previous message (messages lost or reordered); each wants a rebirth.",
      registers,
    }),
    rebirths: new Counter({
      name: 'anomalyd_sparkplug_rebirth_requests_total',
      help: 'Rebirths wanted (unknown alias, seq gap, data of an offline node), by result: sent (NCMD Node Control/Rebirth published), rate_limited (asked that node recently), disabled (sparkplug.rebirth_requests off), failed (not connected).',
      labelNames: ['result'],
      registers,
    }),
    liveness: new Counter({
      name: 'anomalyd_stream_liveness_changes_total',
      help: 'Streams that went offline (their Sparkplug B edge node or device died: no scoring, paging or stall alarm) or came back online (born again), by state.',
      labelNames: ['state'],
      registers,
    }),
  };
  for (const type of SPARKPLUG_MESSAGE_TYPES) m.messages.inc({ type }, 0);
  for (const result of Object.keys(REBIRTH_RESULTS)) m.rebirths.inc({ result }, 0);
  for (const state of ['offline', 'online']) m.liveness.inc({ state }, 0);
  return m;
}
