// The `sparkplug` entry of a subscription with decoder sparkplug_b: whether anomalyd may send commands to edge
// nodes (rebirth requests) and how often. Absent: it only reads.
import { Type } from '@sinclair/typebox';
import { entry, named } from './schemaHelpers';

export const sparkplugSchema = entry(
  {
    rebirth_requests: Type.Boolean({
      default: false,
      description:
        "Ask an edge node to send its births again (an NCMD `Node Control/Rebirth` = true to spBv1.0/<group>/NCMD/<edge>, QoS 0) when its data cannot be read as it should: an alias no birth defined (anomalyd started after the node's birth, or a birth was lost), a skipped or repeated seq, data from a node or device that is offline. Off: the need is only counted (anomalyd_sparkplug_rebirth_requests_total{result=\"disabled\"}). The broker must let anomalyd's client publish to the NCMD topics.",
    }),
    node_device: Type.Optional(
      named(
        '^[A-Za-z0-9_.:-]{1,64}$',
        'must be 1 to 64 letters, digits and "_.:-"',
          'What stands for {device} in the stream of an edge node\'s own metrics (NBIRTH, NDATA: their topic has no device), e.g. "node": `stream: "{edge}/{device}"` then names them "<edge>/node". Unset: {device} is removed with the "/" it leaves, so "{edge}/{device}" names them "<edge>". A `streams` entry for a node\'s own stream uses that id.',
      ),
    ),
    rebirth_min_interval_ms: Type.Integer({
      minimum: 1_000,
      maximum: 86_400_000,
      default: 30_000,
      description: 'Shortest time between two rebirth requests to one edge node (milliseconds): a node that keeps sending unreadable data is not flooded with commands.',
    }),
  },
  'Sparkplug B settings of a subscription with decoder sparkplug_b. Absent: anomalyd reads only, sending no commands.',
);
