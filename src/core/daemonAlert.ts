// A firing notice about the daemon's intake rather than one stream's data (StreamsRefused, StreamsStalled): no
// model judged anything, so it has no score, threshold or channels, and its stream label names the concern.
import type { AlertKind, AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';

export function daemonAlertNotice(o: { stream: string; kind: AlertKind; startsAt: number; sequence: number; detail: string }): AlertNotice {
  return {
    fingerprint: alertFingerprint(o.stream, o.kind),
    stream: o.stream,
    model: '',
    kind: o.kind,
    status: 'firing',
    severity: 'warning',
    startsAt: o.startsAt,
    endsAt: null,
    score: NaN,
    threshold: NaN,
    pValue: NaN,
    topChannels: [],
    sequence: o.sequence,
    labels: {},
    detail: o.detail,
  };
}
