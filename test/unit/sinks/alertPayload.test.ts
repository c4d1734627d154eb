import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertNotice } from '../../../src/core/alert';
import { ALERTMANAGER_ZERO_TIME, alertLabels, webhookBody } from '../../../src/sinks/alertPayload';
import { notice as alertNotice } from '../../helpers/notices';

const firing = alertNotice({
  fingerprint: '0123456789abcdef', severity: 'critical', startsAt: Date.parse('2024-05-01T12:00:00Z'), score: 0.0123, threshold: 0.004, pValue: 3.2e-6,
  topChannels: [{ channel: 'vib_x', share: 0.61 }, { channel: 'vib_y', share: 0.2 }, { channel: 'current', share: 0.09 }],
  sequence: 17, labels: { line: 'line1', asset: 'pump1' },
});

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
      // A notice without readings (sensor checks, state saved by an older version): the fields are there, null.
      top_channels: firing.topChannels.map((c) => ({ ...c, observed: null, expected: null, training_min: null, training_max: null })),
      sequence: 17,
    });
    assert.deepEqual(body.commonAnnotations, alert?.annotations);
  });

  it('each top channel carries what it read, what the model expected and its training range', () => {
    const notice: AlertNotice = {
      ...firing,
      topChannels: [
        { channel: 'bearing_temp_c', share: 0.7, reading: { observed: 92.1, expected: 61.43, trainingMin: 55, trainingMax: 70.25 } },
        { channel: 'rpm', share: 0.2, reading: { observed: 1523.7, expected: 1500.2, trainingMin: 1480, trainingMax: 1520 } },
        // Unknown training bounds (a transformed channel of an old manifest): the reading without the range.
        { channel: 'vib_x', share: 0.1, reading: { observed: 0.0004, expected: 0.00031, trainingMin: NaN, trainingMax: NaN } },
      ],
    };
    const [alert] = webhookBody(notice, { receiver: 'ops', externalUrl: 'http://x' }).alerts;
    assert.deepEqual(alert?.top_channels, [
      { channel: 'bearing_temp_c', share: 0.7, observed: 92.1, expected: 61.43, training_min: 55, training_max: 70.25 },
      { channel: 'rpm', share: 0.2, observed: 1523.7, expected: 1500.2, training_min: 1480, training_max: 1520 },
      { channel: 'vib_x', share: 0.1, observed: 0.0004, expected: 0.00031, training_min: null, training_max: null },
    ]);
    const readings = 'bearing_temp_c read 92.1, expected 61.43 (training 55 to 70.25); rpm read 1524, expected 1500 (training 1480 to 1520); vib_x read 4.00e-4, expected 3.10e-4';
    assert.equal(alert?.annotations['readings'], readings);
    assert.equal(alert?.annotations['summary'], 'Anomaly on stream line1/pump1: bearing_temp_c read 92.1, expected 61.43');
    assert.equal(
      alert?.annotations['description'],
      `Reconstruction error above threshold on line1/pump1: score 0.01230 vs threshold 0.004000 (p = 3.2e-6); top channels: bearing_temp_c 70%, rpm 20%, vib_x 10%. ${readings}.`,
    );
    // JSON has no NaN: what a receiver parses is null, never a string or a missing key.
    const parsed = JSON.parse(JSON.stringify(alert)) as { top_channels: Record<string, unknown>[] };
    assert.equal(parsed.top_channels[2]?.['training_min'], null);
    const resolved = webhookBody({ ...notice, status: 'resolved', endsAt: notice.startsAt + 60_000 }, { receiver: 'ops', externalUrl: 'http://x' }).alerts[0];
    assert.equal(resolved?.annotations['readings'], readings, 'a resolve says what the channels read when it cleared');
    assert.equal(resolved?.annotations['description'], 'Stream line1/pump1 is calm again: score 0.01230 vs threshold 0.004000 (p = 3.2e-6).');
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

  it('TimestampsRejected names the reason and the offset in its description and its own annotation', () => {
    const detail = "future_timestamp: field 'ts' is 82800000 ms (23.0 h) ahead of arrival";
    const notice: AlertNotice = { ...firing, kind: 'timestamps_rejected', severity: 'warning', topChannels: [], score: NaN, threshold: NaN, pValue: NaN, detail };
    const [alert] = webhookBody(notice, { receiver: 'ops', externalUrl: 'http://x' }).alerts;
    assert.equal(alert?.labels['alertname'], 'TimestampsRejected');
    assert.equal(alert?.annotations['timestamp_problem'], detail);
    assert.ok(alert?.annotations['description']?.includes(detail));
    const [resolved] = webhookBody({ ...notice, status: 'resolved', endsAt: notice.startsAt + 1 }, { receiver: 'ops', externalUrl: 'http://x' }).alerts;
    assert.equal(resolved?.annotations['summary'], 'Sample times of stream line1/pump1 are right again');
  });
});
