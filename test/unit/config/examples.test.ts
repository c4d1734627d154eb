import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { loadConfigFile } from '../../../src/config/load';
import { renderSchemaJson } from '../../../src/config/schemaJson';
import { ROOT } from './helpers';

const config = (name: string): string => path.join(ROOT, 'config', name);

describe('shipped configuration files', () => {
  it('config/schema.json is the generated schema (run scripts/genSchema.js after a schema change)', () => {
    const committed = fs.readFileSync(config('schema.json'), 'utf8');
    assert.equal(committed, renderSchemaJson());
  });

  it('the published schema is valid draft-07 and gives every property a description', () => {
    const schema = JSON.parse(renderSchemaJson()) as Record<string, unknown>;
    assert.doesNotThrow(() => new Ajv({ strict: true }).compile(schema));
    const missing: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (node === null || typeof node !== 'object') return;
      const obj = node as Record<string, unknown>;
      if (obj['type'] === 'object' && obj['additionalProperties'] === undefined) missing.push(`${at}: open object`);
      for (const [name, prop] of Object.entries((obj['properties'] as Record<string, unknown> | undefined) ?? {})) {
        if (typeof (prop as Record<string, unknown>)['description'] !== 'string') missing.push(`${at}.${name}: no description`);
        visit(prop, `${at}.${name}`);
      }
      for (const key of ['items', 'additionalProperties']) visit(obj[key], `${at}[${key}]`);
    };
    visit(schema, '$');
    assert.deepEqual(missing, []);
  });

  it('config/plant.example.yaml validates with its environment', async () => {
    const file = config('plant.example.yaml');
    assert.match(fs.readFileSync(file, 'utf8'), /^# yaml-language-server: \$schema=\.\/schema\.json\n/);
    const loaded = await loadConfigFile(file, { ALERT_WEBHOOK_URL: 'https://hooks.example.com/anomalyd', HTTP_PORT: '9500' });
    assert.equal(loaded.http.port, 9500);
    assert.equal(loaded.mqtt.url, 'mqtt://127.0.0.1:1883');
    assert.equal(loaded.state_dir, path.join(ROOT, 'var'), 'relative to config/, the checkout var/');
    assert.equal(loaded.sinks.influx?.url, 'http://127.0.0.1:8086/anomalyd');
    assert.equal(loaded.sinks.webhooks[0]?.url, 'https://hooks.example.com/anomalyd');
    assert.deepEqual(loaded.models, { pump: { path: path.join(ROOT, 'models', 'pump') } });
    const sub = loaded.subscriptions[0];
    assert.equal(sub?.topic, 'plant/+/+/telemetry');
    assert.equal(sub?.template, 'plant/{line}/{asset}/telemetry');
    assert.equal(sub?.stream, '{line}/{asset}');
    assert.deepEqual(sub?.channels, [
      'vib_x_rms',
      'vib_y_rms',
      'vib_z_rms',
      'motor_current_a',
      'voltage_v',
      'pressure_bar',
      'flow_m3h',
      'temperature_c',
    ]);
  });

  it('config/plant.example.yaml needs ALERT_WEBHOOK_URL', async () => {
    await assert.rejects(loadConfigFile(config('plant.example.yaml'), {}), /sinks\.webhooks\[0\]\.url: environment variable ALERT_WEBHOOK_URL is not set/);
  });

  it('config/ecg.example.yaml validates: f32le chunks at 250 Hz, one-second windows with half overlap', async () => {
    const file = config('ecg.example.yaml');
    assert.match(fs.readFileSync(file, 'utf8'), /^# yaml-language-server: \$schema=\.\/schema\.json\n/);
    const loaded = await loadConfigFile(file, {});
    const sub = loaded.subscriptions[0];
    assert.equal(sub?.decoder, 'f32le');
    assert.equal(sub?.sample_rate_hz, 250);
    assert.equal(loaded.defaults.window.size, 250);
    assert.equal(loaded.defaults.window.hop, 125);
    assert.equal(loaded.defaults.window.sample_period_ms, 4);
  });

  it('config/default.yaml validates', async () => {
    const loaded = await loadConfigFile(config('default.yaml'), {});
    assert.equal(loaded.sinks.console.enabled, true);
    assert.equal(loaded.http.port, 9464);
  });
});
