// Alert states as Sparkplug B metrics (sinks.mqtt_out.sparkplug). Per alert kind three metrics, named
// `alert/<kind>/...` so a host application shows them as one folder per kind:
// - `firing` (Boolean): the alarm source; a SCADA host (Ignition) configures its alarm on this tag.
// - `severity` (String, `warning` | `critical`): of the current or last episode, for the host's alarm priority.
// - `since` (DateTime, ms): when the current state began (the episode's start while firing, its end once resolved),
//   so the host shows the real active time, not when it happened to receive the message.
// A stream's kinds are metrics of its device; the daemon-wide kinds (streams_refused, streams_stalled) have no
// stream of their own and are metrics of the edge node. Every kind of the scope is in each birth (never fired:
// firing false, severity and since null), so the host can set up its alarms before the first fault.
import type { AlertKind, AlertNotice, AlertSeverity } from '../core/alert';

export type SparkplugMetric = {
  readonly name: string;
  readonly type: 'Double' | 'Boolean' | 'UInt64' | 'String' | 'DateTime';
  /** null: the metric exists but has no value yet (Sparkplug's is_null). */
  readonly value: number | boolean | string | null;
  readonly timestamp?: number;
};

/** Where each kind's state is published: a compile error names a new kind until it is placed. */
const ALERT_SCOPE = {
  anomaly: 'device',
  insufficient_data: 'device',
  ingestion_stalled: 'device',
  sensor_flatline: 'device',
  sensor_spikes: 'device',
  timestamps_rejected: 'device',
  streams_refused: 'node',
  streams_stalled: 'node',
} as const satisfies Record<AlertKind, 'device' | 'node'>;

const kindsOf = (scope: 'device' | 'node'): readonly AlertKind[] =>
  (Object.keys(ALERT_SCOPE) as AlertKind[]).filter((k) => ALERT_SCOPE[k] === scope);

/** The kinds of a stream's device, and of the edge node (daemon-wide alerts). */
export const DEVICE_ALERT_KINDS = kindsOf('device');
export const NODE_ALERT_KINDS = kindsOf('node');

export function isNodeAlert(kind: AlertKind): boolean {
  return ALERT_SCOPE[kind] === 'node';
}

export interface AlertState {
  readonly firing: boolean;
  readonly severity: AlertSeverity;
  /** When this state began (ms). */
  readonly since: number;
}

export function alertState(notice: AlertNotice): AlertState {
  const firing = notice.status === 'firing';
  return { firing, severity: notice.severity, since: firing ? notice.startsAt : (notice.endsAt ?? notice.startsAt) };
}

/** The three metrics of one kind; `state` undefined: never fired since the daemon started. */
function metricsOf(kind: AlertKind, state: AlertState | undefined, birthTime: number): SparkplugMetric[] {
  const at = state?.since ?? birthTime;
  return [
    { name: `alert/${kind}/firing`, type: 'Boolean', value: state?.firing ?? false, timestamp: at },
    { name: `alert/${kind}/severity`, type: 'String', value: state?.severity ?? null, timestamp: at },
    { name: `alert/${kind}/since`, type: 'DateTime', value: state?.since ?? null, timestamp: at },
  ];
}

/** Every kind of the scope, for a birth certificate (NBIRTH or DBIRTH). */
export function birthAlertMetrics(kinds: readonly AlertKind[], states: ReadonlyMap<AlertKind, AlertState> | undefined, birthTime: number): SparkplugMetric[] {
  return kinds.flatMap((k) => metricsOf(k, states?.get(k), birthTime));
}

/** What a transition changed (report by exception); empty when nothing did (a repeat, a reconcile of a known state). */
export function changedAlertMetrics(kind: AlertKind, before: AlertState | undefined, after: AlertState): SparkplugMetric[] {
  const all = metricsOf(kind, after, after.since);
  if (before === undefined) return all;
  return all.filter((m) => {
    if (m.name.endsWith('/firing')) return before.firing !== after.firing;
    if (m.name.endsWith('/severity')) return before.severity !== after.severity;
    return before.since !== after.since;
  });
}
