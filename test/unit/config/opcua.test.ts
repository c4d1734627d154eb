// The `opcua` section: each OPC UA subscription becomes an entry of `subscriptions` after the MQTT ones (so the
// pipeline binds its stream like any other), problems are reported where the file says them, the MQTT source
// never sees those entries, and a reload keeps the running section's entries.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planReload } from '../../../src/app/reload';
import { opcuaIndexes, opcuaSettingsKey } from '../../../src/app/opcuaSource';
import { mqttSubscriptions } from '../../../src/app/source';
import { loadConfigText } from '../../../src/config/load';
import { mqttSubscriptionCount } from '../../../src/config/opcuaStreams';
import { makeUserCertificate } from '../../helpers/userCertificate';
import { problemsOf, ROOT, tempDir } from './helpers';

const MODEL = path.join(ROOT, 'models', 'pump');

const yaml = (opcua: string, mqtt = ''): string => `models: { pump: { path: ${MODEL} } }
${mqtt}
opcua:
  endpoint_url: opc.tcp://127.0.0.1:4840
${opcua}`;

const ONE = `  subscriptions:
    - stream: line1/pump1
      model: pump
      window: { hop: 10 }
      items:
        - { node_id: "ns=1;s=Pump1.a", channel: a }
        - { browse_path: "/Objects/1:Pump1/1:b", channel: b }
`;
const MQTT = `subscriptions:
  - { topic: plant/+/telemetry, template: "plant/{asset}/telemetry", stream: "mqtt/{asset}", decoder: json, model: pump, channels: [a] }`;

describe('opcua section', () => {
  it('appends one subscription entry per OPC UA subscription, after the MQTT ones', () => {
    const config = loadConfigText(yaml(ONE, MQTT), 'test.yaml', {});
    assert.equal(config.subscriptions.length, 2);
    assert.equal(mqttSubscriptionCount(config), 1);
    const entry = config.subscriptions[1];
    assert.equal(entry?.topic, '$opcua/0');
    assert.equal(entry?.stream, 'line1/pump1');
    assert.equal(entry?.model, 'pump');
    assert.deepEqual(entry?.channels, ['a', 'b']);
    assert.deepEqual(entry?.window, { hop: 10 });
    assert.deepEqual(config.opcua?.security, { mode: 'None', trusted_certs: [] });
    assert.equal(config.opcua?.subscriptions[0]?.timestamps, 'source');
    assert.deepEqual(
      mqttSubscriptions(config).map((s) => s.topic),
      ['plant/+/telemetry'],
      'the MQTT source subscribes to its own entries only',
    );
  });

  it('reports a problem in an OPC UA subscription at its place in the file', () => {
    const problems = problemsOf(yaml(ONE.replace('model: pump', 'model: nope').replace('window: { hop: 10 }', 'window: { hop: 10, min_completeness: 0.1, size: 5 }')));
    assert.ok(problems.some((p) => p.startsWith('opcua.subscriptions[0].model: names no model')), problems.join('\n'));
    assert.ok(!problems.some((p) => /^subscriptions\[/.test(p)), problems.join('\n'));
  });

  it('refuses what the schema cannot see: security pairs, identity pairs, items, repeated streams', () => {
    const problems = problemsOf(
      yaml(`  security: { mode: SignAndEncrypt, policy: None }
  identity: { user: anomalyd }
  subscriptions:
    - stream: mqtt/p1
      items:
        - { node_id: "ns=1;s=x", browse_path: "/Objects/1:x", channel: a }
        - { channel: a }
    - stream: mqtt/p1
      items: [{ node_id: "i=2258", channel: a }]
`, MQTT),
    );
    for (const expected of [
      'opcua.security.policy: must not be None when security.mode is SignAndEncrypt',
      'opcua.identity.password: is required with a user',
      'opcua.subscriptions[0].items[0]: must name its variable by exactly one of node_id and browse_path',
      'opcua.subscriptions[0].items[1]: must name its variable by exactly one of node_id and browse_path',
      'opcua.subscriptions[0].items[1].channel: repeats the channel of items[0]',
      'opcua.subscriptions[1].stream: repeats the stream of opcua.subscriptions[0]',
      'opcua.subscriptions[0].stream: is also produced by subscriptions[0] (MQTT)',
    ]) {
      assert.ok(problems.some((p) => p.startsWith(expected)), `${expected}\n-- got --\n${problems.join('\n')}`);
    }
  });

  it('refuses a node id that is not one, an MQTT topic in the reserved prefix and a certificate file that cannot be read', () => {
    assert.ok(problemsOf(yaml(ONE.replace('ns=1;s=Pump1.a', 'Pump1.a'))).some((p) => p.startsWith('opcua.subscriptions[0].items[0].node_id: must be an OPC UA node id')));
    assert.ok(problemsOf(yaml(ONE, MQTT.replace('plant/+/telemetry', '$opcua/0'))).some((p) => p.startsWith('subscriptions[0].topic: must not start with $opcua/')));
    const missing = problemsOf(yaml(`  security: { mode: Sign, trusted_certs: [/nonexistent/plc.der] }\n${ONE}`));
    assert.ok(missing.some((p) => p.startsWith('opcua.security.trusted_certs[0]: cannot be read (ENOENT)')), missing.join('\n'));
  });

  it('refuses a certificate whose key file is not its key, or is no key, naming files and thumbprint but never the key', async () => {
    const dir = tempDir();
    try {
      const pair = async (name: string): Promise<{ cert: string; key: string; keyPem: string; thumbprint: string }> => {
        const made = await makeUserCertificate(dir, name);
        return { cert: made.certFile, key: made.keyFile, keyPem: made.keyPem, thumbprint: made.thumbprint };
      };
      const a = await pair('a');
      const b = await pair('b');
      const identity = (cert: string, key: string): string => yaml(`  identity: { cert_file: ${cert}, key_file: ${key} }\n${ONE}`);
      assert.equal(loadConfigText(identity(a.cert, a.key), 'test.yaml', {}).opcua?.identity.cert_file, a.cert, 'a matching pair loads');
      const thumbprint = a.thumbprint;
      const mismatch = problemsOf(identity(a.cert, b.key));
      assert.ok(mismatch.some((p) => p.startsWith(`opcua.identity.key_file: is not the private key of cert_file ${a.cert} (thumbprint ${thumbprint})`)), mismatch.join('\n'));
      const notCert = problemsOf(identity(a.key, a.key));
      assert.ok(notCert.some((p) => p.startsWith('opcua.identity.cert_file: is not an X.509 certificate')), notCert.join('\n'));
      const notKey = problemsOf(yaml(`  security: { mode: Sign, cert_file: ${a.cert}, key_file: ${a.cert} }\n${ONE}`));
      assert.ok(notKey.some((p) => p.startsWith('opcua.security.key_file: is not an unencrypted PEM private key')), notKey.join('\n'));
      const body = [a.keyPem, b.keyPem].flatMap((pem) => pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----')));
      assert.ok([...mismatch, ...notCert, ...notKey].every((p) => body.every((line) => !p.includes(line))), 'no line of a key in a problem');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never shows the password in a problem', () => {
    const problems = problemsOf(yaml(`  identity: { password: hunter2-secret }\n${ONE.replace('model: pump', 'model: nope')}`));
    assert.ok(problems.length > 0);
    assert.ok(problems.every((p) => !p.includes('hunter2-secret')), problems.join('\n'));
  });

  it('applies a changed OPC UA section on reload, its entries following it', () => {
    const running = loadConfigText(yaml(ONE, MQTT), 'test.yaml', {});
    const next = loadConfigText(yaml(ONE.replace('line1/pump1', 'line1/pump9'), MQTT), 'test.yaml', {});
    const plan = planReload(running, next);
    assert.deepEqual(plan.restartNeeded, []);
    assert.ok(plan.applied.some((p) => p.startsWith('opcua')), plan.applied.join(', '));
    assert.equal(plan.config.opcua?.subscriptions[0]?.stream, 'line1/pump9');
    assert.equal(plan.config.subscriptions[1]?.stream, 'line1/pump9', 'the entries follow the section in force');
  });

  it('replaces the OPC UA source for a change of endpoint or items, not for detection settings or moved indexes', () => {
    const running = loadConfigText(yaml(ONE, MQTT), 'test.yaml', {});
    const key = opcuaSettingsKey(running);
    const same = (text: string): boolean => opcuaSettingsKey(loadConfigText(text, 'test.yaml', {})) === key;
    assert.ok(same(yaml(ONE.replace('window: { hop: 10 }', 'window: { hop: 5 }'), MQTT)), 'a detection override applies downstream');
    const twoMqtt = `${MQTT}\n  - { topic: other/+, stream: "other/{asset}", template: "other/{asset}", decoder: json, model: pump, channels: [a] }`;
    const moved = loadConfigText(yaml(ONE, twoMqtt), 'test.yaml', {});
    assert.ok(opcuaSettingsKey(moved) === key, 'one more MQTT subscription only moves the OPC UA entries');
    assert.deepEqual(opcuaIndexes(moved), [2]);
    assert.ok(!same(yaml(ONE, MQTT).replace('opc.tcp://127.0.0.1:4840', 'opc.tcp://127.0.0.1:4841')), 'endpoint');
    assert.ok(!same(yaml(ONE.replace('        - { browse_path', '        - { node_id: "ns=1;s=Pump1.c", channel: c }\n        - { browse_path'), MQTT)), 'an item added');
    assert.equal(opcuaSettingsKey(loadConfigText(MQTT.replace('subscriptions:', `models: { pump: { path: ${MODEL} } }\nsubscriptions:`), 'test.yaml', {})), null, 'no section');
  });
});
