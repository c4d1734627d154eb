// The reload policy covers every top-level config section, so a new section cannot be forgotten: it is either
// live or restart-only, and the components' sections are classified by their registry entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { configSchema } from '../../../src/config/schema';
import { sinksSchema } from '../../../src/config/schemaIo';
import { RELOAD_POLICY } from '../../../src/app/reload';
import { reloadPolicy } from '../../../src/app/reloadPolicy';
import { SINK_KINDS } from '../../../src/app/sinkRegistry';

test('every top-level config section is either live or restart-only', () => {
  assert.deepEqual([...RELOAD_POLICY.keys()].sort(), Object.keys(configSchema.properties).sort());
});

test('the sections that apply live: the ones that always did, the maintenance windows, the retraining of the config and the OPC UA input', () => {
  const live = [...RELOAD_POLICY].filter(([, p]) => p.live).map(([s]) => s);
  assert.deepEqual(live.sort(), ['auto_learn', 'csv', 'defaults', 'log', 'maintenance', 'models', 'opcua', 'retrain', 'shutdown_grace_ms', 'sinks', 'streams', 'subscriptions']);
  assert.deepEqual(RELOAD_POLICY.get('opcua')?.restartOnly, []);
  assert.deepEqual(RELOAD_POLICY.get('log')?.restartOnly, ['format']);
  assert.deepEqual(RELOAD_POLICY.get('defaults')?.restartOnly, ['training.auto_learn_windows']);
  assert.deepEqual(RELOAD_POLICY.get('sinks')?.restartOnly, []);
});

test('every restart-only path names a setting of the schema', () => {
  const child = (schema: TSchema | undefined, key: string): TSchema | undefined => (schema?.['properties'] as Record<string, TSchema> | undefined)?.[key];
  for (const [section, policy] of RELOAD_POLICY) {
    for (const inner of policy.restartOnly) {
      const found = inner.split('.').reduce<TSchema | undefined>(child, child(configSchema, section));
      assert.ok(found, `${section}.${inner}`);
    }
  }
});

test('every section under sinks has a sink kind, and every sink kind a section', () => {
  assert.deepEqual(SINK_KINDS.map((k) => k.section).sort(), Object.keys(sinksSchema.properties).sort());
});

test('a component path that waits for a restart becomes a restart-only path of a live section', () => {
  const policy = reloadPolicy([{ reads: { 'sinks.a': { by: 'rebuild', restartOnly: ['spool'] } } }, { reads: { 'sinks.b': { by: 'restart' } } }]);
  assert.deepEqual(policy.get('sinks'), { live: true, restartOnly: ['a.spool', 'b'] });
  assert.deepEqual(reloadPolicy([{ reads: { opcua: { by: 'update', restartOnly: ['endpoint'] } } }]).get('opcua'), { live: true, restartOnly: ['endpoint'] });
});

test('contradicting declarations are refused', () => {
  assert.throws(() => reloadPolicy([{ reads: { 'http.port': { by: 'update' } } }]), /http/);
  assert.throws(() => reloadPolicy([{ reads: { opcua: { by: 'update' } } }, { reads: { opcua: { by: 'restart' } } }]), /both live and restart-only/);
});
