// Home Assistant MQTT discovery for the mqtt_out sink: per stream, a sensor of its anomaly score and a binary
// sensor (device class `problem`) that is on while its anomaly alert fires, both on one device named after the
// stream, both unavailable when the publisher's status topic says `offline`. Each config is published retained
// to `<prefix>/<component>/<node_id>/<object_id>/config`, so Home Assistant finds it after its own restart.
import { createHash } from 'node:crypto';
import { STATUS_OFFLINE, STATUS_ONLINE } from './mqttOutPayloads';

export interface DiscoveryMessage {
  readonly topic: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface DiscoveryTopics {
  /** Where the stream's scores and anomaly alert state go (filled-in templates). */
  readonly score: string;
  readonly anomalyAlert: string;
  readonly status: string;
}

/** Home Assistant ids allow [a-zA-Z0-9_-] only. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * An object id for a stream: readable, and unique although slugging maps `a/b` and `a_b` alike (a hash of the
 * real id is appended).
 */
export function streamObjectId(stream: string): string {
  return `${slug(stream).slice(0, 64)}_${createHash('sha256').update(stream).digest('hex').slice(0, 8)}`;
}

/** The discovery configs of one stream, `node` being the publisher's client id (one daemon's entities apart). */
export function discoveryMessages(prefix: string, node: string, stream: string, model: string, topics: DiscoveryTopics): DiscoveryMessage[] {
  const nodeId = slug(node);
  const objectId = streamObjectId(stream);
  const device = { identifiers: [`anomalyd_${nodeId}_${objectId}`], name: stream, manufacturer: 'anomalyd', model };
  const common = {
    availability_topic: topics.status,
    payload_available: STATUS_ONLINE,
    payload_not_available: STATUS_OFFLINE,
    device,
    origin: { name: 'anomalyd' },
  };
  return [
    {
      topic: `${prefix}/sensor/${nodeId}/${objectId}_score/config`,
      payload: {
        name: 'Anomaly score',
        unique_id: `anomalyd_${nodeId}_${objectId}_score`,
        state_topic: topics.score,
        value_template: '{{ value_json.score }}',
        // threshold, p_value, anomalous, expected values...: the whole score message as attributes.
        json_attributes_topic: topics.score,
        state_class: 'measurement',
        ...common,
      },
    },
    {
      topic: `${prefix}/binary_sensor/${nodeId}/${objectId}_anomaly/config`,
      payload: {
        name: 'Anomaly',
        unique_id: `anomalyd_${nodeId}_${objectId}_anomaly`,
        state_topic: topics.anomalyAlert,
        value_template: "{{ 'ON' if value_json.status == 'firing' else 'OFF' }}",
        json_attributes_topic: topics.anomalyAlert,
        device_class: 'problem',
        ...common,
      },
    },
  ];
}
