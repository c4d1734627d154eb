import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertNotice } from '../../../src/core/alert';
import { ALERTMANAGER_ZERO_TIME, alertLabels, webhookBody } from '../../../src/sinks/alertPayload';

const firing: AlertNotice = {
  fingerprint: '0123456789abcdef',
  stream: 'line1/pump1',
  model: 'pump',
  kind: 'anomaly',
  status: 'firing',
  severity: 'critical',
  startsAt: Date.parse('2024-05-01T12:00:00Z'),
  endsAt: null,
  score: 0.0123,
  threshold: 0.004,
  pValue: 3.2e-6,
  topChannels: [
    { channel: 'vib_x', share: 0.61 },
    { channel: 'vib_y', share: 0.2 },
    { channel: 'current', share: 0.09 },
  ],
  sequence: 17,
  labels: { line: 'line1', asset: 'pump1' },
};

describe('webhookBody', () => {
  it('builds an Alertmanager v4 body plus anomalyd fields for a firing notice', () => {
    const body = webhookBody(firing, { receiver: 'ops', externalUrl: 'http://anomalyd:9464/' });
    const labels = { line: 'line1', asset: 'pump1', alertname: 'AnomalyDetected', stream: 'line1/pump1', model: 'pump', severity: 'critical' };
    assert.equal(body.version, '4');
    assert.equal(body.status, 'firing');
    assert.equal(body.receiver, 'ops');
    assert.equal(body.groupKey, '{}:{alertname="AnomalyDetected", stream="line1/pump1"}');
    assert.deepEqual(body.groupLabels, { alertname: 'AnomalyDetected', stream: 'line1/pump1' });
    assert.deepEqual(body.commonLabels, labels);
    assert.equal(body.externalURL, 'http://anomalyd:9464/');
    assert.equal(body.alerts.length, 1);
    const [alert] = body.alerts;
    assert.deepEqual(alert, {
      status: 'firing',
      labels,
      annotations: {
        summary: 'Anomaly on stream line1/pump1',
        description: 'Reconstruction error above threshold on line1/pump1: score 0.01230 vs threshold 0.004000 (p = 3.2e-6); top channels: vib_x 61%, vib_y 20%, current 9%.',
      },
      startsAt: '2024-05-01T12:00:00.000Z',
      endsAt: ALERTMANAGER_ZERO_TIME,
      generatorURL: 'http://anomalyd:9464/?stream=line1%2Fpump1',
      fingerprint: '0123456789abcdef',
      score: 0.0123,
      threshold: 0.004,
      p_value: 3.2e-6,
      top_channels: firing.topChannels,
      sequence: 17,
    });
    assert.deepEqual(body.commonAnnotations, alert?.annotations);
  });

  it('a resolved notice carries its endsAt; the same notice always gives the same bytes', () => {
    const resolved: AlertNotice = { ...firing, status: 'resolved', endsAt: Date.parse('2024-05-01T12:05:00Z'), score: 0.001, sequence: 18 };
    const a = JSON.stringify(webhookBody(resolved, { receiver: 'ops', externalUrl: 'http://x' }));
    const b = JSON.stringify(webhookBody(resolved, { receiver: 'ops', externalUrl: 'http://x' }));
    assert.equal(a, b);
    const body = webhookBody(resolved, { receiver: 'ops', externalUrl: 'http://x' });
    assert.equal(body.status, 'resolved');
    assert.equal(body.alerts[0]?.endsAt, '2024-05-01T12:05:00.000Z');
    assert.equal(body.alerts[0]?.annotations['summary'], 'Stream line1/pump1 is back to normal');
  });

  it('insufficient data is its own alertname, without score or p-value', () => {
    const gap: AlertNotice = { ...firing, kind: 'insufficient_data', severity: 'warning', topChannels: [], score: 0, pValue: 1 };
    const alert = webhookBody(gap, { receiver: 'ops', externalUrl: 'http://x' }).alerts[0];
    assert.equal(alert?.labels['alertname'], 'InsufficientData');
    assert.equal(alert?.score, null);
    assert.equal(alert?.p_value, null);
    assert.match(alert?.annotations['description'] ?? '', /too incomplete to score/);
  });

  it('template labels cannot override the fixed ones and get valid label names', () => {
    const labels = alertLabels({ ...firing, labels: { severity: 'info', stream: 'x', 'asset-id': '7', '9th': 'y' } });
    assert.deepEqual(labels, { severity: 'critical', stream: 'line1/pump1', asset_id: '7', _9th: 'y', alertname: 'AnomalyDetected', model: 'pump' });
  });

  it('a flapping alert says so', () => {
    const body = webhookBody({ ...firing, labels: { flapping: 'true' } }, { receiver: 'ops', externalUrl: 'http://x' });
    assert.equal(body.alerts[0]?.annotations['summary'], 'Anomaly alert on stream line1/pump1 is flapping');
    assert.equal(body.alerts[0]?.labels['flapping'], 'true');
  });
});
