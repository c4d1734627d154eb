// Shared test data for the telemetry tests.
import type { AlertNotice } from '../../../src/core/alert';

/** A firing critical anomaly alert on line1/pump1; override any field. */
export function notice(over: Partial<AlertNotice> = {}): AlertNotice {
  return {
    fingerprint: 'fp-line1/pump1-anomaly', stream: 'line1/pump1', model: 'pump', kind: 'anomaly', status: 'firing',
    severity: 'critical', startsAt: 1_700_000_000_000, endsAt: null, score: 0.9, threshold: 0.5, pValue: 0.0001,
    topChannels: [{ channel: 'vib_x', share: 0.6 }, { channel: 'current', share: 0.3 }], sequence: 7, labels: {},
    ...over,
  };
}
