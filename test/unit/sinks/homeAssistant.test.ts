// mqtt_out's Home Assistant discovery configs checked against Home Assistant's own MQTT discovery schema, as far
// as it can be checked without Home Assistant: HA is a Python application installed from PyPI or as a container,
// and this machine only has npm and Debian packages, so HA itself is not run here. The schema below is written
// from HA's source, read (not copied) from these files of github.com/home-assistant/core:
//   homeassistant/components/mqtt/discovery.py      @ bdc5ec6042ca8092f29b687456a50a159dbce8a7 (TOPIC_MATCHER)
//   homeassistant/components/mqtt/config.py         @ a5c8209270205b905bb35a9082c39708b0d5f52f (MQTT_BASE_SCHEMA, MQTT_RO_SCHEMA)
//   homeassistant/components/mqtt/schemas.py        @ c6ca7f5f416326437e8e652a5623aa5eff7b3d00 (availability, MQTT_ENTITY_COMMON_SCHEMA, device, origin)
//   homeassistant/components/mqtt/abbreviations.py  @ 911803bfd294b1ba1f541af01f6d37666ae4e384 (the abbreviated keys, which we do not use)
//   homeassistant/components/mqtt/sensor.py         @ 17309b787222b2ff5a7496ce85391c3c067138fe, and a later sensor.py with
//     _PLATFORM_SCHEMA_BASE (options, suggested_display_precision; last_reset_topic removed) and
//     validate_sensor_state_and_device_class_config
//   homeassistant/components/mqtt/binary_sensor.py  @ 121590832b463474eb8766daa04e6a099a568a9e, and a later one with
//     PLATFORM_SCHEMA_MODERN (the same keys, device and unique_id moved to the common schema)
// Why a key list matters: HA's DISCOVERY_SCHEMA is built with extra=vol.REMOVE_EXTRA, so a key HA does not know is
// silently dropped, not refused: a misspelt key would never show in HA's log, only in a sensor that lacks what we
// meant. Here an unknown key fails the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { discoveryMessages, type DiscoveryMessage } from '../../../src/sinks/homeAssistant';

/** MQTT_BASE_SCHEMA + MQTT_RO_SCHEMA (config.py). */
const RO_KEYS = ['qos', 'encoding', 'state_topic', 'value_template'];
/** MQTT_AVAILABILITY_SINGLE_SCHEMA + MQTT_AVAILABILITY_LIST_SCHEMA + MQTT_ENTITY_COMMON_SCHEMA (schemas.py). */
const COMMON_KEYS = [
  'availability_topic', 'availability_template', 'payload_available', 'payload_not_available', 'availability_mode', 'availability',
  'device', 'origin', 'enabled_by_default', 'entity_category', 'icon', 'json_attributes_topic', 'json_attributes_template', 'object_id', 'unique_id',
];
/** The keys each component's discovery schema accepts. */
const ACCEPTED: Readonly<Record<string, readonly string[]>> = {
  sensor: [...RO_KEYS, ...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'name', 'options', 'suggested_display_precision', 'state_class', 'unit_of_measurement'],
  binary_sensor: [...RO_KEYS, ...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'name', 'off_delay', 'payload_off', 'payload_on'],
};
/** MQTT_ENTITY_DEVICE_INFO_SCHEMA and MQTT_ORIGIN_INFO_SCHEMA (schemas.py). */
const DEVICE_KEYS = ['identifiers', 'connections', 'manufacturer', 'model', 'model_id', 'name', 'hw_version', 'serial_number', 'sw_version', 'via_device', 'suggested_area', 'configuration_url'];
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];
/** sensor's STATE_CLASSES; binary_sensor's device classes we might use. */
const STATE_CLASSES = ['measurement', 'total', 'total_increasing'];
const BINARY_DEVICE_CLASSES = ['problem', 'safety', 'running', 'connectivity'];
/** discovery.py's TOPIC_MATCHER, after `<prefix>/`. */
const TOPIC_MATCHER = /^(?<component>\w+)\/(?:(?<node>[a-zA-Z0-9_-]+)\/)?(?<object>[a-zA-Z0-9_-]+)\/config$/;

/** A subscribe topic HA accepts (util.valid_subscribe_topic): no NUL, `+` and `#` only as a whole level, `#` last. */
function validSubscribeTopic(topic: string): boolean {
  if (topic.length === 0 || topic.includes('\u0000')) return false;
  const levels = topic.split('/');
  return levels.every((l, i) => (!l.includes('+') || l === '+') && (!l.includes('#') || (l === '#' && i === levels.length - 1)));
}

/** What HA would refuse or silently drop in one discovery message; empty when HA takes it as we mean it. */
function haProblems(prefix: string, m: DiscoveryMessage): string[] {
  const problems: string[] = [];
  if (!m.topic.startsWith(`${prefix}/`)) return [`${m.topic}: not under the discovery prefix ${prefix}`];
  const match = TOPIC_MATCHER.exec(m.topic.slice(prefix.length + 1));
  const component = match?.groups?.['component'] ?? '';
  if (!match) problems.push(`${m.topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config`);
  const accepted = ACCEPTED[component];
  if (!accepted) return [...problems, `${m.topic}: component '${component}' not checked here`];
  const p = m.payload;
  for (const key of Object.keys(p)) if (!accepted.includes(key)) problems.push(`${component}: key '${key}' is not in HA's schema (dropped silently)`);
  if (typeof p['state_topic'] !== 'string' || !validSubscribeTopic(p['state_topic'])) problems.push(`${component}: state_topic missing or not a valid subscribe topic`);
  for (const key of ['availability_topic', 'json_attributes_topic']) {
    if (key in p && (typeof p[key] !== 'string' || !validSubscribeTopic(p[key]))) problems.push(`${component}: ${key} is not a valid subscribe topic`);
  }
  if ('availability_topic' in p && 'availability' in p) problems.push(`${component}: availability_topic and availability exclude each other`);
  const device = p['device'] as Record<string, unknown> | undefined;
  if (device !== undefined) {
    for (const key of Object.keys(device)) if (!DEVICE_KEYS.includes(key)) problems.push(`${component}: device key '${key}' is not in HA's schema`);
    const ids = device['identifiers'];
    if (!(Array.isArray(ids) && ids.length > 0 && ids.every((i) => typeof i === 'string')) && !device['connections']) problems.push(`${component}: device needs identifiers or connections`);
  }
  const origin = p['origin'] as Record<string, unknown> | undefined;
  if (origin !== undefined) {
    for (const key of Object.keys(origin)) if (!ORIGIN_KEYS.includes(key)) problems.push(`${component}: origin key '${key}' is not in HA's schema`);
    if (typeof origin['name'] !== 'string') problems.push(`${component}: origin.name is required`);
  }
  if (component === 'sensor') {
    if ('state_class' in p && !STATE_CLASSES.includes(String(p['state_class']))) problems.push(`sensor: state_class '${String(p['state_class'])}' unknown`);
    if ('last_reset_value_template' in p && p['state_class'] !== 'total') problems.push('sensor: last_reset_value_template needs state_class total');
    if ('options' in p && (p['device_class'] !== 'enum' || 'state_class' in p || 'unit_of_measurement' in p)) problems.push('sensor: options only with device_class enum, without state_class or unit');
  }
  if (component === 'binary_sensor' && 'device_class' in p && !BINARY_DEVICE_CLASSES.includes(String(p['device_class']))) problems.push(`binary_sensor: device_class '${String(p['device_class'])}' not one we checked`);
  return problems;
}

const topics = { score: 'anomalyd/line1/pump.1/score', anomalyAlert: 'anomalyd/line1/pump.1/alert/anomaly', status: 'anomalyd/_status/anomalyd-host1-out' };

test("Home Assistant: every discovery config has only keys HA's discovery schema accepts, on a topic HA's matcher reads", () => {
  // A client id with a dot and a stream with levels and a dot: both must come out as ids HA's matcher reads.
  for (const prefix of ['homeassistant', 'plant/ha']) {
    const msgs = discoveryMessages(prefix, 'anomalyd-host1.out', 'line1/pump.1', 'pump', topics);
    assert.equal(msgs.length, 2);
    for (const m of msgs) assert.deepEqual(haProblems(prefix, m), [], m.topic);
  }
});

test('Home Assistant: the state a template makes is one HA takes (a number for the measurement sensor, ON/OFF for the binary sensor)', () => {
  const [sensor, binary] = discoveryMessages('homeassistant', 'n', 's', 'pump', topics);
  // A measurement sensor must have a numeric state: the score, not the JSON object.
  assert.equal(sensor?.payload['state_class'], 'measurement');
  assert.equal(sensor?.payload['value_template'], '{{ value_json.score }}');
  // The binary sensor compares the template's output with payload_on / payload_off (defaults ON / OFF).
  assert.ok(!('payload_on' in (binary?.payload ?? {})) && !('payload_off' in (binary?.payload ?? {})), 'the defaults ON/OFF apply');
  assert.match(String(binary?.payload['value_template']), /'ON' if .* else 'OFF'/);
});

test('the check itself: a misspelt or unknown key, a wrong topic and a device without ids are caught', () => {
  const [sensor] = discoveryMessages('homeassistant', 'n', 's', 'pump', topics);
  assert.ok(sensor);
  const bad = (payload: Record<string, unknown>, topic = sensor.topic): string[] => haProblems('homeassistant', { topic, payload });
  assert.match(bad({ ...sensor.payload, unit_of_measure: 'x' }).join(), /unit_of_measure/);
  assert.match(bad({ ...sensor.payload, stat_t: 'a/b' }).join(), /stat_t/, 'abbreviations are not used by anomalyd, so not accepted here');
  assert.match(bad({ ...sensor.payload, device: { name: 'x' } }).join(), /identifiers or connections/);
  assert.match(bad({ ...sensor.payload, state_class: 'gauge' }).join(), /state_class/);
  assert.match(bad({ ...sensor.payload, state_topic: 'a/#/b' }).join(), /state_topic/);
  assert.match(bad(sensor.payload, 'homeassistant/sensor/n/s.1/config').join(), /not <prefix>/);
});
