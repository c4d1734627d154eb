// AlertNotice builders for tests. The notice has fifteen required fields; a test states the ones it is about and
// takes the rest from here, so a field added to AlertNotice is added once, here, not in every sink's test.
import type { AlertNotice } from '../../src/core/alert';

/** A firing critical anomaly alert on line1/pump1 at 1_700_000_000_000 with two top channels; override any field. */
export function notice(over: Partial<AlertNotice> = {}): AlertNotice {
  return {
    fingerprint: 'fp-line1/pump1-anomaly', stream: 'line1/pump1', model: 'pump', kind: 'anomaly', status: 'firing',
    severity: 'critical', startsAt: 1_700_000_000_000, endsAt: null, score: 0.9, threshold: 0.5, pValue: 0.0001,
    topChannels: [{ channel: 'vib_x', share: 0.6 }, { channel: 'current', share: 0.3 }], sequence: 7, labels: {},
    ...over,
  };
}
