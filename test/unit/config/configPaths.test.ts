// Relative paths in a config file resolve against that file's directory, whatever the working directory; the
// bundled default keeps its state in the user's state directory, never in the package.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultConfigPath, loadConfig, userStateDir } from '../../../src/app/configFiles';
import { PATH_KEYS } from '../../../src/config/configPaths';
import { loadConfigFile, loadConfigText } from '../../../src/config/load';
import { SECRET_FILE_KEYS, toJsonSchema } from '../../../src/config/schema';
import { ConfigError } from '../../../src/core/errors';
import { ROOT, tempDir } from './helpers';

const MODEL_CONFIG = ['state_dir: state', 'models:', '  pump:', '    path: ../models/pump', ''].join('\n');

describe('relative paths in a config file', () => {
  it('resolve against the directory of the file, not the working directory', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'etc', 'anomalyd.yaml');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, MODEL_CONFIG);
    const config = await loadConfigFile(file, {});
    assert.equal(config.state_dir, path.join(dir, 'etc', 'state'));
    assert.equal(config.models['pump']?.path, path.join(dir, 'models', 'pump'));
  });

  it('give an omitted state_dir (schema default ./var) the file directory too', () => {
    const config = loadConfigText('{}', '/srv/plant/anomalyd.yaml', {});
    assert.equal(config.state_dir, '/srv/plant/var');
  });

  it('leave absolute paths as written, including ones from the environment', () => {
    const config = loadConfigText('state_dir: ${STATE_DIR:-./var}\n', '/etc/anomalyd/config.yaml', { STATE_DIR: '/var/lib/anomalyd' });
    assert.equal(config.state_dir, '/var/lib/anomalyd');
  });

  it('resolve the MQTT TLS files and the *_file secrets, and a missing one is reported with its absolute path', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'mqtt-password'), 'pw-1234\n');
    const text = [
      'mqtt:',
      '  url: mqtts://broker.plant:8883',
      '  username: anomalyd',
      '  password_file: mqtt-password',
      '  tls: { ca_file: pki/ca.pem, cert_file: pki/client.pem, key_file: /abs/client.key }',
      '',
    ].join('\n');
    const config = loadConfigText(text, path.join(dir, 'config.yaml'), {});
    assert.equal(config.mqtt.password, 'pw-1234');
    assert.equal(config.mqtt.tls.ca_file, path.join(dir, 'pki', 'ca.pem'));
    assert.equal(config.mqtt.tls.cert_file, path.join(dir, 'pki', 'client.pem'));
    assert.equal(config.mqtt.tls.key_file, '/abs/client.key');

    const missing = text.replace('password_file: mqtt-password', 'password_file: secrets/none');
    assert.throws(
      () => loadConfigText(missing, path.join(dir, 'config.yaml'), {}),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes(path.join(dir, 'secrets', 'none')) && p.startsWith('mqtt.password_file:')),
    );
  });

  it('cover every path-like key of the schema (a new *_file, *_dir or path key must be added to PATH_KEYS)', () => {
    const found: string[] = [];
    const walk = (node: unknown, at: string[]): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      for (const [key, sub] of Object.entries((n['properties'] as Record<string, unknown> | undefined) ?? {})) {
        if (/(^path$|_dir$|_file$)/.test(key)) found.push([...at, key].join('.'));
        walk(sub, [...at, key]);
      }
      if (n['items']) walk(n['items'], at);
      for (const sub of Object.values((n['patternProperties'] as Record<string, unknown> | undefined) ?? {})) walk(sub, [...at, '*']);
      if (typeof n['additionalProperties'] === 'object') walk(n['additionalProperties'], [...at, '*']);
      for (const k of ['anyOf', 'oneOf', 'allOf']) for (const sub of (n[k] as unknown[] | undefined) ?? []) walk(sub, at);
    };
    walk(toJsonSchema(), []);
    assert.ok(found.includes('state_dir') && found.includes('models.*.path'), `schema walk found ${found.join(', ')}`);
    const covered = new Set(PATH_KEYS.map((k) => k.join('.')));
    const uncovered = found.filter((k) => !covered.has(k) && !Object.hasOwn(SECRET_FILE_KEYS, k.split('.').at(-1) ?? ''));
    assert.deepEqual(uncovered, []);
  });
});

describe('the bundled default config', () => {
  it('keeps state in $STATE_DIR, else $XDG_STATE_HOME/anomalyd, else ~/.local/state/anomalyd', () => {
    assert.equal(userStateDir({ STATE_DIR: '/srv/state' }), '/srv/state');
    assert.equal(userStateDir({ STATE_DIR: 'rel' }), path.resolve('rel'), 'a relative STATE_DIR means the working directory, as in a shell');
    assert.equal(userStateDir({ XDG_STATE_HOME: '/home/op/.state' }), '/home/op/.state/anomalyd');
    assert.equal(userStateDir({ XDG_STATE_HOME: 'relative' }), path.join(os.homedir(), '.local', 'state', 'anomalyd'), 'XDG ignores a relative XDG_STATE_HOME');
    assert.equal(userStateDir({}), path.join(os.homedir(), '.local', 'state', 'anomalyd'));
  });

  it('without -c: state outside the package, models inside it', async () => {
    // The compiled tests live in build/, the package's config/ is at the root.
    assert.equal(path.basename(defaultConfigPath()), 'default.yaml');
    const config = await loadConfig(undefined, { XDG_STATE_HOME: '/home/op/.state' }, path.join(ROOT, 'config', 'default.yaml'));
    assert.equal(config.state_dir, '/home/op/.state/anomalyd');
    assert.equal(config.models['pump']?.path, path.join(ROOT, 'models', 'pump'));
  });

  it('with -c config/default.yaml (npm start): the checkout var/ unless STATE_DIR is set', async () => {
    const file = path.join(ROOT, 'config', 'default.yaml');
    assert.equal((await loadConfig(file, {})).state_dir, path.join(ROOT, 'var'));
    assert.equal((await loadConfig(file, { STATE_DIR: '/tmp/s' })).state_dir, '/tmp/s');
  });
});
