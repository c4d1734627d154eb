import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadConfigText } from '../../../src/config/load';
import { effectiveDetection } from '../../../src/config/detection';

describe('defaults', () => {
  it('takes the shallow form (encoder_units: []) with any bottleneck smaller than the input', () => {
    const config = loadConfigText('defaults:\n  training: { encoder_units: [], latent_units: 8 }\n', 'shallow.yaml', {});
    assert.deepEqual(config.defaults.training.encoder_units, []);
    assert.equal(config.defaults.training.latent_units, 8);
  });

  it('fills every section of an empty file', () => {
    const config = loadConfigText('', 'empty.yaml', {});
    assert.deepEqual(config.log, { level: 'info', format: 'text' });
    assert.deepEqual(config.http, { enabled: true, host: '127.0.0.1', port: 9464, ready_ingest_window_s: 60 });
    assert.equal(config.state_dir, path.resolve('var'), "./var beside the file ('empty.yaml': the working directory)");
    assert.equal(config.mqtt.url, 'mqtt://127.0.0.1:1883');
    assert.equal(config.mqtt.clean_session, false);
    assert.equal(config.mqtt.qos, 1);
    assert.equal(config.mqtt.embedded_broker, 'auto');
    assert.deepEqual(config.mqtt.reconnect, { min_delay_ms: 1000, max_delay_ms: 30000, jitter: 0.2 });
    assert.deepEqual(config.mqtt.tls, { reject_unauthorized: true });
    assert.deepEqual(config.defaults.training.encoder_units, [128, 64]);
    assert.equal(config.defaults.training.latent_units, 16);
    assert.equal(config.defaults.training.loss, 'bce');
    assert.deepEqual(config.defaults.training.noise, { gaussian_sigma: 0.05, mask_fraction: 0.1, salt_pepper_fraction: 0 });
    assert.equal(config.defaults.calibration.method, 'pot');
    assert.deepEqual(config.defaults.calibration.pot, { q: 0.0001, initial_quantile: 0.98 });
    assert.equal(config.defaults.window.sample_period_ms, undefined);
    assert.deepEqual(config.subscriptions, []);
    assert.deepEqual(config.sinks, { webhooks: [], console: { enabled: false } });
    assert.deepEqual(config.queues, { capacity: 10000, when_full: 'block' });
    assert.deepEqual(config.batching, { max_batch: 64, max_wait_ms: 20 });
  });

  it('keeps given values and fills the rest of the same section', () => {
    const config = loadConfigText('http:\n  port: 8080\ndefaults:\n  window:\n    size: 140\n    hop: 70\n', 'x.yaml', {});
    assert.deepEqual(config.http, { enabled: true, host: '127.0.0.1', port: 8080, ready_ingest_window_s: 60 });
    assert.deepEqual(config.defaults.window, { size: 140, hop: 70, max_gap_ms: 10000, max_lateness_ms: 0, min_completeness: 0.9 });
  });

  it('fills defaults inside list entries but not inside overrides', () => {
    const text = [
      'subscriptions:',
      '  - topic: plant/+/+/telemetry',
      '    template: plant/{line}/{asset}/telemetry',
      '    stream: "{line}/{asset}"',
      '    decoder: json',
      '    channels: [a, b]',
      '    window:',
      '      hop: 8',
      'sinks:',
      '  webhooks:',
      '    - name: ops',
      '      url: https://hooks.example.com/x',
    ].join('\n');
    const config = loadConfigText(text, 'x.yaml', {});
    const sub = config.subscriptions[0];
    assert.ok(sub);
    assert.equal(sub.model, 'auto');
    assert.deepEqual(sub.timestamp, { source: 'auto', field: 'ts', unit: 'ms', max_future_skew_ms: 10_000, max_age_ms: 604_800_000 });
    assert.deepEqual(sub.window, { hop: 8 });
    assert.deepEqual(config.sinks.webhooks[0], {
      name: 'ops',
      url: 'https://hooks.example.com/x',
      timeout_ms: 5000,
      max_retries: 10,
      headers: {},
      send_resolved: true,
    });
    const effective = effectiveDetection(config.defaults, sub);
    assert.deepEqual(effective.window, { size: 64, hop: 8, max_gap_ms: 10000, max_lateness_ms: 0, min_completeness: 0.9 });
    assert.deepEqual(effective.training, config.defaults.training);
  });

  it('replaces {hostname} in the client id and returns a frozen configuration', () => {
    const config = loadConfigText('mqtt:\n  client_id: edge-{hostname}-1\n', 'x.yaml', {});
    assert.match(config.mqtt.client_id, /^edge-.+-1$/);
    assert.doesNotMatch(config.mqtt.client_id, /\{hostname\}/);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.defaults.training.encoder_units));
    assert.throws(() => {
      (config.http as { port: number }).port = 1;
    }, TypeError);
  });
});

describe('effectiveDetection', () => {
  it('applies subscription then stream overrides; lists are replaced whole', () => {
    const { defaults } = loadConfigText('', 'x.yaml', {});
    const merged = effectiveDetection(
      defaults,
      { training: { encoder_units: [32], noise: { mask_fraction: 0.2 } }, alerting: { k: 2 } },
      { alerting: { k: 4, n: 8 } },
    );
    assert.deepEqual(merged.training.encoder_units, [32]);
    assert.deepEqual(merged.training.noise, { gaussian_sigma: 0.05, mask_fraction: 0.2, salt_pepper_fraction: 0 });
    assert.equal(merged.alerting.k, 4);
    assert.equal(merged.alerting.n, 8);
    assert.equal(merged.alerting.reset_windows, 5);
    assert.deepEqual(defaults.training.encoder_units, [128, 64]);
  });
});
