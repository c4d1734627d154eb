// The `sparkplug` entry of a subscription with decoder sparkplug_b: whether anomalyd may send commands to edge
// nodes (rebirth requests) and how often. Absent: it only reads.
import { Type } from '@sinclair/typebox';
import { entry } from './schemaHelpers';

export const sparkplugSchema = entry(
  {
    rebirth_requests: Type.Boolean({
      default: false,
      description:
        "Ask an edge node to send its births again (an NCMD `Node Control/Rebirth` = true to spBv1.0/<group>/NCMD/<edge>, QoS 0) when its data cannot be read as it should: an alias no birth defined (anomalyd started after the node's birth, or a birth was lost), a skipped or repeated seq, data from a node or device that is offline. Off: the need is only counted (anomalyd_sparkplug_rebirth_requests_total{result=\"disabled\"}). The broker must let anomalyd's client publish to the NCMD topics.",
    }),
    rebirth_min_interval_ms: Type.Integer({
      minimum: 1_000,
      maximum: 86_400_000,
      default: 30_000,
      description: 'Shortest time between two rebirth requests to one edge node (milliseconds): a node that keeps sending unreadable data is not flooded with commands.',
    }),
  },
  'Sparkplug B settings of a subscription with decoder sparkplug_b. Absent: anomalyd reads only, sending no commands.',
);
