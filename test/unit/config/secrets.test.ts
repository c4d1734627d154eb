import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../src/core/errors';
import { loadConfigText } from '../../../src/config/load';
import { problemsOf, tempDir } from './helpers';

function secretFile(name: string, content: string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, content);
  return file;
}

describe('*_file secrets', () => {
  it('reads the trimmed file content into the sibling key and drops the _file key', () => {
    const mqttPass = secretFile('mqtt', '  s3cret-mqtt-pass\n');
    const hmac = secretFile('hmac', 'hmac-key-0123456789\n');
    const influxPass = secretFile('influx', 'influx-pw-xyz');
    const text = [
      'mqtt:',
      '  username: anomalyd',
      `  password_file: ${mqttPass}`,
      'sinks:',
      '  influx:',
      '    url: http://127.0.0.1:8086/anomalyd',
      `    password_file: ${influxPass}`,
      '  webhooks:',
      '    - name: ops',
      '      url: https://hooks.example.com/x',
      `      secret_file: ${hmac}`,
    ].join('\n');
    const config = loadConfigText(text, 'x.yaml', {});
    assert.equal(config.mqtt.password, 's3cret-mqtt-pass');
    assert.equal(config.mqtt.password_file, undefined);
    assert.equal(config.sinks.influx?.password, 'influx-pw-xyz');
    assert.equal(config.sinks.webhooks[0]?.secret, 'hmac-key-0123456789');
    assert.equal(Object.keys(config.sinks.webhooks[0] ?? {}).includes('secret_file'), false);
  });

  it('expands environment variables in the file name', () => {
    const file = secretFile('pw', 'from-env-dir');
    const config = loadConfigText('mqtt:\n  password_file: ${SECRETS}/pw\n', 'x.yaml', { SECRETS: path.dirname(file) });
    assert.equal(config.mqtt.password, 'from-env-dir');
  });

  it('rejects both the value and the _file', () => {
    const file = secretFile('pw', 'pw-in-file');
    assert.deepEqual(problemsOf(`mqtt:\n  password: inline-pw\n  password_file: ${file}\n`), [
      'mqtt.password_file: set either password or password_file, not both',
    ]);
  });

  it('reports a missing or empty file by name, not by content', () => {
    const empty = secretFile('empty', '  \n');
    const problems = problemsOf(`mqtt:\n  password_file: /nonexistent/anomalyd/pw\nsinks:\n  webhooks:\n    - name: a\n      url: http://x\n      secret_file: ${empty}\n`);
    assert.deepEqual(problems, [
      'mqtt.password_file: cannot be read (ENOENT) (got "/nonexistent/anomalyd/pw")',
      `sinks.webhooks[0].secret_file: names an empty file (got ${JSON.stringify(empty)})`,
    ]);
  });

  it('never prints secret values in problems or in the error message', () => {
    const fromFile = secretFile('pw', 'file-secret-4242');
    const text = [
      'mqtt:',
      '  password: [inline-secret-1]', // wrong type: the value must still be hidden
      '  passwd: inline-secret-2', // unknown key with a secret-looking name
      'sinks:',
      '  alertmanager:',
      '    url: http://127.0.0.1:9093',
      `    password_file: ${fromFile}`, // not supported here: becomes an unknown `password`
      '  influx:',
      '    url: http://user:url-secret-3@127.0.0.1:8086/db',
      '    batch_size: x',
      '  webhooks:',
      '    - name: ops',
      '      url: http://x',
      '      secret: ${HMAC}',
      '      max_retries: ${HMAC}',
      '      headers:',
      '        Authorization: [Bearer header-secret-5]',
      'http:',
      '  host: ""',
    ].join('\n');
    let error: unknown;
    try {
      loadConfigText(text, 'x.yaml', { HMAC: 'env-secret-6' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const output = `${error.message}\n${error.problems.join('\n')}`;
    for (const secret of ['inline-secret-1', 'inline-secret-2', 'file-secret-4242', 'url-secret-3', 'header-secret-5', 'env-secret-6']) {
      assert.equal(output.includes(secret), false, `${secret} leaked:\n${output}`);
    }
    assert.ok(error.problems.includes('mqtt.password: must be a string (got <redacted>)'), output);
    assert.ok(error.problems.includes('mqtt.passwd: unknown key; did you mean "password"? (got <redacted>)'), output);
    assert.ok(error.problems.includes('sinks.alertmanager.password: unknown key (got <redacted>)'), output);
    assert.ok(error.problems.includes('sinks.webhooks[0].headers.Authorization: must be a string (got <redacted>)'), output);
    assert.ok(error.problems.includes('sinks.webhooks[0].max_retries: must be an integer (got <redacted>)'), output);
    assert.ok(error.problems.includes('http.host: must not be empty (got "")'), output);
  });
});
