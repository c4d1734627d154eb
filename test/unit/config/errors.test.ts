import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { problemsOf } from './helpers';

const SUB = [
  'subscriptions:',
  '  - topic: plant/+/+/telemetry',
  '    template: plant/{line}/{asset}/telemetry',
  '    stream: "{line}/{asset}"',
  '    decoder: json',
  '    channels: [a, b]',
];

describe('problem reporting', () => {
  it('rejects an unknown key with its full path and suggests the closest name', () => {
    assert.deepEqual(problemsOf('mqtt:\n  reconnect:\n    max_delay: 5000\n'), [
      'mqtt.reconnect.max_delay: unknown key; did you mean "max_delay_ms"? (got 5000)',
    ]);
    assert.deepEqual(problemsOf([...SUB, '    decodr: csv'].join('\n')), ['subscriptions[0].decodr: unknown key; did you mean "decoder"? (got "csv")']);
    assert.deepEqual(problemsOf('telemetry:\n  port: 1\n'), ['telemetry: unknown key (got a mapping with keys port)']);
  });

  it('reports every error at once, each as `path: message (got value)`', () => {
    const text = [
      'log:',
      '  level: verbose',
      'http:',
      '  port: 70000',
      'mqtt:',
      '  url: http://broker:1883',
      '  qos: 2',
      'models:',
      '  pump v2:',
      '    path: models/pump',
      'subscriptions:',
      '  - topic: plant/+/+/telemetry',
      '    decoder: xml',
      '    channels: [vib_x, vib_x, 2nd]',
      'sinks:',
      '  webhooks:',
      '    - url: ftp://hooks',
      '  influx:',
      '    url: http://127.0.0.1:8086/db',
      '    batch_size: 0',
      'queues:',
      '  when_full: wait',
    ].join('\n');
    const problems = problemsOf(text);
    const expected = [
      'log.level: must be one of error, warn, info, debug (got "verbose")',
      'http.port: must be <= 65535 (got 70000)',
      'mqtt.url: must be a URL starting with mqtt://, mqtts://, tcp://, tls://, ws://, wss:// (got "http://broker:1883")',
      'mqtt.qos: must be one of 0, 1 (got 2)',
      'models["pump v2"]: invalid name: must be a name of letters, digits, "_", "." or "-" (at most 64 characters) (got "pump v2")',
      'subscriptions[0].stream: is required (got nothing)',
      'subscriptions[0].decoder: must be one of json, json_array, csv, number, f32le, sparkplug_b (got "xml")',
      'subscriptions[0].channels[2]: must be a channel name of letters, digits and "_", not starting with a digit (got "2nd")',
      'subscriptions[0].channels: must not repeat items (items 1 and 0 are equal) (got a list of 3 item(s))',
      'sinks.influx.batch_size: must be >= 1 (got 0)',
      'sinks.webhooks[0].name: is required (got nothing)',
      'sinks.webhooks[0].url: must be a URL starting with http://, https:// (got "ftp://hooks")',
      'queues.when_full: must be one of block, drop (got "wait")',
    ];
    assert.deepEqual([...problems].sort(), [...expected].sort());
    for (const line of problems) assert.match(line, /^[A-Za-z_][\w.[\]" -]*: .+ \(got .+\)$/);
  });

  it('reports null values instead of turning them into zeros or empty strings', () => {
    assert.deepEqual(problemsOf('http:\n  port:\nstate_dir: ~\nsubscriptions:\n  -\n'), [
      'http.port: has no value; write one or remove the key to use the default (got null)',
      'state_dir: has no value; write one or remove the key to use the default (got null)',
      'subscriptions[0]: has no value; write one or remove the key to use the default (got null)',
    ]);
  });

  it('checks cross-field rules once the schema is satisfied', () => {
    const text = [
      'mqtt:',
      '  reconnect:',
      '    min_delay_ms: 60000',
      '    max_delay_ms: 1000',
      'defaults:',
      '  window:',
      '    size: 32',
      '    hop: 64',
      '  alerting:',
      '    k: 6',
      '    n: 5',
      'models:',
      '  pump:',
      '    path: models/pump',
      'subscriptions:',
      '  - topic: plant/+/+/telemetry',
      '    template: plant/{line}/{asset}/data',
      '    stream: "{line}/{machine}"',
      '    decoder: f32le',
      '    model: pomp',
      '    channels: [a, b]',
      '  - topic: plant/#/x',
      '    stream: "{topic}"',
      '    decoder: number',
      '    channels: [a]',
      '    training:',
      '      latent_units: 100',
      'streams:',
      '  - id: line1/pump7',
      '    channels: [a, c]',
      '  - id: other',
      'sinks:',
      '  influx:',
      '    url: http://127.0.0.1:8086',
      '  webhooks:',
      '    - name: ops',
      '      url: http://a',
      '    - name: ops',
      '      url: http://b',
    ].join('\n');
    assert.deepEqual(problemsOf(text), [
      'mqtt.reconnect.min_delay_ms: must not exceed max_delay_ms (1000) (got 60000)',
      'defaults.window.hop: window hop (64) must not exceed window size (32) (got 64)',
      'defaults.alerting.k: k (6) must not exceed n (5) (got 6)',
      'subscriptions[0].template: level 4 must be "telemetry" as in the topic (got "plant/{line}/{asset}/data")',
      'subscriptions[0].stream: uses {machine}, which is not defined; the template names line, asset (or use {topic}) (got "{line}/{machine}")',
      'subscriptions[0].sample_rate_hz: is required for decoder f32le (got nothing)',
      'subscriptions[0].model: names no model; use "auto" or one of: pump (got "pomp")',
      'subscriptions[1].topic: is not a valid topic filter: "#" must be the last level (got "plant/#/x")',
      'subscriptions[1].training.latent_units: latent_units (100) must not exceed the last encoder layer (64): the bottleneck must be narrowest (got 100)',
      'streams[0].channels[1]: is not a channel of subscriptions[0] (a, b) (got "c")',
      'streams[1].id: matches the stream of no subscription, so it would never receive data (got "other")',
      'sinks.webhooks[1].name: repeats the name of sinks.webhooks[0] (got "ops")',
      'sinks.influx.database: is required when the URL has no path naming the database (got nothing)',
    ]);
  });
});
