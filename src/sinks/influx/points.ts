// The InfluxDB schema (docs/design.md, "InfluxDB schema"): how scores, alerts and health figures become points,
// and how a point is stored in the spool. A point's time is the data's own time (window end, alert transition),
// never the write time, so a retried or replayed write overwrites the same point instead of adding one.
import type { IPoint } from 'influx';
import type { AlertNotice } from '../../core/alert';
import { formatReadings } from '../../core/channelReading';
import type { EventPoint, HealthPoint, ScorePoint } from '../sink';

export const SCORE_MEASUREMENT = 'anomaly_score';
export const EXPECTED_MEASUREMENT = 'anomaly_expected';
export const DENOISED_MEASUREMENT = 'anomaly_denoised';
export const ALERT_MEASUREMENT = 'anomaly_alert';
export const HEALTH_MEASUREMENT = 'anomalyd_health';
export const MAINTENANCE_MEASUREMENT = 'anomaly_maintenance';
export const AUDIT_MEASUREMENT = 'anomaly_audit';
export const FEEDBACK_MEASUREMENT = 'anomaly_feedback';
export const MODE_MEASUREMENT = 'anomaly_mode';
export const SHADOW_SCORE_MEASUREMENT = 'anomaly_shadow_score';
export const SHADOW_ALERT_MEASUREMENT = 'anomaly_shadow_alert';
const EVENT_MEASUREMENTS = {
  maintenance: MAINTENANCE_MEASUREMENT, audit: AUDIT_MEASUREMENT, feedback: FEEDBACK_MEASUREMENT, mode: MODE_MEASUREMENT,
  shadow_score: SHADOW_SCORE_MEASUREMENT, shadow_alert: SHADOW_ALERT_MEASUREMENT,
} as const;

export type FieldValue = number | boolean | string;

/** One point, independent of the client library; also the spool's record. Time in ms. */
export interface InfluxRecord {
  readonly measurement: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly time: number;
}

/** Tags with a value; line protocol has no empty tag value. */
function tags(entries: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== '') out[k] = v;
  return out;
}

/** Line protocol cannot carry NaN or Infinity: such a field is left out of the point, the rest is written. */
function finite(fields: Record<string, FieldValue>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v !== 'number' || Number.isFinite(v)) out[k] = v;
  return out;
}

export function scoreRecord(p: ScorePoint): InfluxRecord {
  const fields: Record<string, FieldValue> = {
    score: p.score,
    threshold: p.threshold,
    p_value: p.pValue,
    anomalous: p.anomalous,
    completeness: p.completeness,
  };
  for (const [channel, share] of Object.entries(p.channelShares)) fields[`share_${channel}`] = share;
  return { measurement: SCORE_MEASUREMENT, tags: scoreTags(p.stream, p.model, p.modelVersion), fields: finite(fields), time: Math.round(p.time) };
}

/**
 * What the model expected beside a score (`anomaly_expected`, same tags and time as the score point): per channel
 * `expected_<channel>`, `observed_<channel>` and `tolerance_<channel>`, named as the alert point's readings. Null for
 * a score point without expected values.
 */
export function expectedRecord(p: ScorePoint): InfluxRecord | null {
  if (p.expected === undefined) return null;
  const fields: Record<string, FieldValue> = {};
  for (const [channel, v] of Object.entries(p.expected)) fields[`expected_${channel}`] = v;
  for (const [channel, v] of Object.entries(p.observed ?? {})) fields[`observed_${channel}`] = v;
  for (const [channel, v] of Object.entries(p.tolerance ?? {})) fields[`tolerance_${channel}`] = v;
  const kept = finite(fields);
  if (Object.keys(kept).length === 0) return null;
  return { measurement: EXPECTED_MEASUREMENT, tags: scoreTags(p.stream, p.model, p.modelVersion), fields: kept, time: Math.round(p.time) };
}

/** The denoised samples a score point carries (`anomaly_denoised`, one point per sample, a field per channel). */
export function denoisedRecords(p: ScorePoint): InfluxRecord[] {
  if (p.denoised === undefined) return [];
  const tags = scoreTags(p.stream, p.model, p.modelVersion);
  const out: InfluxRecord[] = [];
  for (const sample of p.denoised) {
    const fields = finite({ ...sample.values });
    if (Object.keys(fields).length > 0) out.push({ measurement: DENOISED_MEASUREMENT, tags, fields, time: Math.round(sample.time) });
  }
  return out;
}

/** The tags of a score point (also the line prefix of sinks/influx/line.ts); model_version where it is known. */
export function scoreTags(stream: string, model: string, modelVersion?: string): Record<string, string> {
  return modelVersion === undefined ? tags({ stream, model }) : tags({ stream, model, model_version: modelVersion });
}

/** "vib_x:0.61,current:0.22": readable in a Grafana table without a join. */
export function formatTopChannels(notice: AlertNotice): string {
  return notice.topChannels.map((c) => `${c.channel}:${c.share.toFixed(2)}`).join(',');
}

/**
 * Firing notices are stamped with the start of the alert, resolved ones with its end, so neither hides the other.
 * The top channels' readings come as one readable text (`readings`, for a table) and as numbers per channel
 * (`observed_<channel>`, `expected_<channel>`, for a plot), like the score point's `share_<channel>`.
 */
export function alertRecord(n: AlertNotice): InfluxRecord {
  const readings = formatReadings(n.topChannels);
  const values: Record<string, FieldValue> = {
    state: n.status,
    score: n.score,
    top_channels: formatTopChannels(n),
    fingerprint: n.fingerprint,
    sequence: n.sequence,
    kind: n.kind,
    ...(readings === '' ? {} : { readings }),
    // Held by a maintenance window (paged by no one), or paged when the window ended with the alert still firing.
    ...(n.maintenance !== undefined ? { maintenance: n.maintenance } : {}),
    ...(n.maintenanceEnded !== undefined ? { maintenance_ended: n.maintenanceEnded } : {}),
  };
  for (const c of n.topChannels) {
    // A number of another type (null from an old state file) is left out like NaN.
    if (typeof c.reading?.observed === 'number') values[`observed_${c.channel}`] = c.reading.observed;
    if (typeof c.reading?.expected === 'number') values[`expected_${c.channel}`] = c.reading.expected;
  }
  const fields = finite(values);
  const time = n.status === 'resolved' && n.endsAt !== null ? n.endsAt : n.startsAt;
  return { measurement: ALERT_MEASUREMENT, tags: tags({ stream: n.stream, model: n.model, severity: n.severity }), fields, time: Math.round(time) };
}

/** A maintenance window's opening or closing, an operator's change, a label of an alert episode, or a stream's mode change. */
export function eventRecord(e: EventPoint): InfluxRecord | null {
  const fields = finite({ ...e.fields });
  if (Object.keys(fields).length === 0) return null;
  return { measurement: EVENT_MEASUREMENTS[e.kind], tags: tags(e.tags), fields, time: Math.round(e.time) };
}

/** Null when no field is a finite number (a point needs at least one field). */
export function healthRecord(h: HealthPoint): InfluxRecord | null {
  const fields = finite({ ...h.fields });
  if (Object.keys(fields).length === 0) return null;
  return { measurement: HEALTH_MEASUREMENT, tags: tags(h.tags ?? {}), fields, time: Math.round(h.time) };
}

/** For writePoints with precision 'ms'. */
export function toPoint(r: InfluxRecord): IPoint {
  // A string, because the client drops a falsy timestamp (0) and lets the server stamp the point.
  return { measurement: r.measurement, tags: r.tags, fields: r.fields, timestamp: String(r.time) };
}

export function encodeRecord(r: InfluxRecord): Buffer {
  return Buffer.from(JSON.stringify({ m: r.measurement, t: r.tags, f: r.fields, ts: r.time }));
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function isFieldMap(v: unknown): v is Record<string, FieldValue> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const values = Object.values(v);
  return values.length > 0 && values.every((x) => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)));
}

/** Null for a record that is not a point (a checksum-valid record from a foreign or future format). */
export function decodeRecord(buf: Buffer): InfluxRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { m, t, f, ts } = raw as Record<string, unknown>;
  if (typeof m !== 'string' || m === '' || !isStringMap(t) || !isFieldMap(f) || typeof ts !== 'number' || !Number.isSafeInteger(ts)) return null;
  return { measurement: m, tags: t, fields: f, time: ts };
}
