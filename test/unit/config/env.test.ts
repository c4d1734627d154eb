import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadConfigText } from '../../../src/config/load';
import { problemsOf } from './helpers';

describe('environment substitution', () => {
  it('substitutes ${VAR} and coerces numeric strings', () => {
    const text = 'http:\n  port: ${HTTP_PORT}\nmqtt:\n  url: ${MQTT_URL}\nstate_dir: ${DIR}/state\n';
    const config = loadConfigText(text, 'x.yaml', { HTTP_PORT: '9100', MQTT_URL: 'mqtts://broker.plant:8883', DIR: '/srv/anomalyd' });
    assert.equal(config.http.port, 9100);
    assert.equal(config.mqtt.url, 'mqtts://broker.plant:8883');
    assert.equal(config.state_dir, '/srv/anomalyd/state');
  });

  it('uses the default when the variable is unset or empty, and the value when set', () => {
    const text = 'http:\n  port: ${HTTP_PORT:-9464}\nstate_dir: ${STATE_DIR:-./var}\nmqtt:\n  url: ${MQTT_URL:-mqtt://127.0.0.1:1883}\n';
    const unset = loadConfigText(text, 'x.yaml', {});
    assert.equal(unset.http.port, 9464);
    // A relative value resolves against the file's directory (here: the working directory, 'x.yaml' has none).
    assert.equal(unset.state_dir, path.resolve('var'));
    const empty = loadConfigText(text, 'x.yaml', { HTTP_PORT: '', STATE_DIR: '' });
    assert.equal(empty.http.port, 9464);
    assert.equal(empty.state_dir, path.resolve('var'));
    const set = loadConfigText(text, 'x.yaml', { HTTP_PORT: '8081', MQTT_URL: 'ws://10.0.0.5:9001' });
    assert.equal(set.http.port, 8081);
    assert.equal(set.mqtt.url, 'ws://10.0.0.5:9001');
  });

  it('writes a literal ${ for $${ and leaves other dollars alone', () => {
    const config = loadConfigText('state_dir: "/data/$${NOT_A_VAR}/a$b$"\n', 'x.yaml', { NOT_A_VAR: 'oops' });
    assert.equal(config.state_dir, '/data/${NOT_A_VAR}/a$b$');
  });

  it('does not substitute in keys and does not let values inject YAML', () => {
    const config = loadConfigText('state_dir: ${DIR}\n', 'x.yaml', { DIR: 'x\nhttp:\n  port: 1' });
    assert.equal(config.state_dir, path.resolve('x\nhttp:\n  port: 1'));
    assert.equal(config.http.port, 9464);
  });

  it('names the path and the variable when an unset variable has no default', () => {
    const problems = problemsOf('sinks:\n  webhooks:\n    - name: ops\n      url: ${ALERT_WEBHOOK_URL}\n');
    assert.deepEqual(problems, [
      'sinks.webhooks[0].url: environment variable ALERT_WEBHOOK_URL is not set (write ${ALERT_WEBHOOK_URL:-default} to give a default) (got "${ALERT_WEBHOOK_URL}")',
    ]);
  });

  it('reports every missing variable and malformed substitutions', () => {
    const problems = problemsOf('state_dir: ${A}\nmqtt:\n  client_id: ${1BAD}\n  url: "${B"\n');
    assert.equal(problems.length, 3);
    assert.equal(problems[0], 'state_dir: environment variable A is not set (write ${A:-default} to give a default) (got "${A}")');
    assert.match(problems[1] ?? '', /^mqtt\.client_id: has an invalid substitution "\$\{1BAD\}"/);
    assert.match(problems[2] ?? '', /^mqtt\.url: has an unterminated "\$\{"/);
  });

  it('reports a non-numeric substituted port with its path', () => {
    assert.deepEqual(problemsOf('http:\n  port: ${HTTP_PORT:-9464}\n', { HTTP_PORT: 'http' }), [
      'http.port: must be an integer (got "http")',
    ]);
  });
});
