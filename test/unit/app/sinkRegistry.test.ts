// The sink registry turns a config into planned sinks: one per configured instance, in registry order, each built
// by its kind's factory, with settings that change only when its own section does.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { planSinks } from '../../../src/app/sinks';
import { AlertmanagerSink } from '../../../src/sinks/alertmanager';
import { ConsoleSink } from '../../../src/sinks/console';
import { InfluxSink } from '../../../src/sinks/influx/influxSink';
import { MqttOutSink } from '../../../src/sinks/mqttOut';
import { WebhookSink } from '../../../src/sinks/webhook';
import { testContext } from '../../helpers/context';

const stateDir = mkdtempSync(path.join(tmpdir(), 'sink-registry-'));
const config = (sinks: string): Config =>
  loadConfigText(`state_dir: ${stateDir}\nmqtt: { url: mqtt://127.0.0.1:1883 }\nsinks:\n${sinks}`, path.join(stateDir, 'test.yaml'), {});

const ALL = `  console: { enabled: true }
  influx: { url: http://127.0.0.1:8086/anomalyd }
  webhooks:
    - { name: pager, url: http://127.0.0.1:9/hook }
    - { name: chat, url: http://127.0.0.1:9/chat }
  alertmanager: { url: http://127.0.0.1:9093 }
  mqtt_out: {}
`;

test('one planned sink per configured instance, in registry order, each of its kind', () => {
  const ids: string[] = [];
  const plans = planSinks(config(ALL), (id) => (ids.push(id), testContext(id).ctx), 'http://anomalyd.example/');
  assert.deepEqual(plans.map((p) => p.key), ['console', 'influx', 'webhook.pager', 'webhook.chat', 'alertmanager', 'mqtt_out']);
  const sinks = plans.map((p) => p.build());
  assert.deepEqual(ids, ['sink.console', 'sink.influx', 'sink.webhook.pager', 'sink.webhook.chat', 'sink.alertmanager', 'sink.mqtt_out']);
  assert.deepEqual(sinks.map((s) => s.name), plans.map((p) => p.key), 'a sink is named by its key');
  const kinds = [ConsoleSink, InfluxSink, WebhookSink, WebhookSink, AlertmanagerSink, MqttOutSink];
  sinks.forEach((s, i) => assert.ok(s instanceof kinds[i], `${s.name}`));
});

test('a config without sinks plans none (the console is off by default)', () => {
  assert.deepEqual(planSinks(config('  webhooks: []\n'), (id) => testContext(id).ctx, ''), []);
});

test("a sink's settings change only with its own section", () => {
  const before = planSinks(config(ALL), (id) => testContext(id).ctx, '');
  const after = planSinks(config(ALL.replace('9/chat', '9/chat2')), (id) => testContext(id).ctx, '');
  const changed = before.filter((p, i) => p.settings !== after[i]?.settings).map((p) => p.key);
  assert.deepEqual(changed, ['webhook.chat']);
});

test('the console factory writes where the environment says', () => {
  const lines: string[] = [];
  const [plan] = planSinks(config('  console: { enabled: true }\n'), (id) => testContext(id).ctx, '', { stdout: (l) => lines.push(l) });
  const sink = plan?.build();
  assert.ok(sink instanceof ConsoleSink);
  sink.writeAlert({
    fingerprint: 'f',
    stream: 'line1/pump1',
    model: 'pump',
    kind: 'ingestion_stalled',
    status: 'firing',
    severity: 'warning',
    startsAt: 0,
    endsAt: null,
    score: 0,
    threshold: 0,
    pValue: 1,
    topChannels: [],
    sequence: 1,
    labels: {},
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /ingestion stalled/);
});
