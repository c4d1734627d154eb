// Closing a firing alert whose condition can no longer be watched: a config reload removed its stream, so no
// later sample or window will ever resolve it. Receivers get a resolve with the alert's identity (fingerprint,
// startsAt, labels), stamped now and carrying the reason, so no page stays open forever.
import type { AlertNotice } from './alert';

export function retiredNotice(firing: AlertNotice, now: number, reason: string, sequence: number): AlertNotice {
  // Anomaly alerts are stamped with data time, which may run ahead of the wall clock: never end before the start.
  return { ...firing, status: 'resolved', endsAt: Math.max(now, firing.startsAt), sequence, reason };
}
