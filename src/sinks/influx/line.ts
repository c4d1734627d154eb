// The body of a write request: points in InfluxDB line protocol, byte for byte as the `influx` package's
// writePoints builds it (its pool still sends it: sinks/influx/writer.ts). Built here because writePoints made, per
// point, a parsed copy, a sorted key array and a [key, value] pair per field, and escaped every field name
// with a regular expression: about half of the daemon's allocations in the ingest profile, at one score point
// per window. Here score points go straight from the pipeline's ScorePoint to text: the escaped
// measurement-and-tags prefix of each stream and the escaped name of each share field are made once, and no
// record or field object exists per point unless the point must be spooled.
//
// What writePoints does, and so this: measurement; tags in key order of the object, key and value escaped;
// fields sorted by name (default sort), name escaped, strings quoted, other values String(v); then the
// timestamp through castTimestamp. The escaping is sinks/influx/escape.ts's, which differs from writePoints' only
// where writePoints' is wrong for InfluxDB 1.x (backslashes: see there). test/unit/sinks/influx/line.test.ts
// holds it to writePoints' own output for everything else, and test/integration/influxIds.test.ts reads
// random stream ids back from a real InfluxDB.
import { castTimestamp } from 'influx/lib/src/grammar/times';
import { escapeFieldKey, escapeMeasurement, escapeTag, quoteString } from './escape';
import { SCORE_MEASUREMENT, scoreRecord, scoreTags, type FieldValue, type InfluxRecord } from './points';
import type { ScorePoint } from '../sink';

/** A point waiting to be written: a record, or a score point whose record is only made if needed (spool). */
export type PendingPoint = InfluxRecord | ScorePoint;

export function isRecord(p: PendingPoint): p is InfluxRecord {
  return (p as Partial<InfluxRecord>).measurement !== undefined;
}

/** The point as a record (the spool's format). */
export function recordOf(p: PendingPoint): InfluxRecord {
  return isRecord(p) ? p : scoreRecord(p);
}

/** Every point on its own line, as writePoints joins them. Throws what writePoints throws (a bad timestamp). */
export function linesOf(points: readonly PendingPoint[]): string {
  const lines = new Array<string>(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    lines[i] = isRecord(p) ? recordLine(p) : scoreLine(p);
  }
  // join() makes one flat string; concatenating like writePoints would leave a rope to flatten on send.
  return lines.join('\n');
}

/** Caches below are cleared when they reach this size: a flood of stream names costs time, never memory. */
const CACHE_MAX = 20_000;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, value);
  return value;
}

/** `,key=value` per tag, escaped: the tag section after the measurement. */
function tagSection(tags: Readonly<Record<string, string>>): string {
  let out = '';
  for (const name of Object.keys(tags)) out += ',' + escapeTag(name) + '=' + escapeTag(tags[name]);
  return out;
}

/** Any record, the way writePoints formats it (alerts, health, score records read back from the spool). */
export function recordLine(r: InfluxRecord): string {
  let out = escapeMeasurement(r.measurement) + tagSection(r.tags);
  const names = Object.keys(r.fields).sort();
  for (let i = 0; i < names.length; i++) {
    const v: FieldValue = r.fields[names[i]];
    out += (i === 0 ? ' ' : ',') + escapeFieldKey(names[i]) + '=' + (typeof v === 'string' ? quoteString(v) : String(v));
  }
  return out + ' ' + castTimestamp(String(r.time), 'ms');
}

/** `anomaly_score,stream=...,model=...,model_version=...` by model and version, then stream. */
const prefixes = new Map<string, Map<string, string>>();

function scorePrefix(stream: string, model: string, modelVersion: string | undefined): string {
  // A version id holds no NUL, so the key's first NUL ends it: one model's version is never another's name.
  const key = `${modelVersion ?? ''}\u0000${model}`;
  let byStream = prefixes.get(key);
  if (byStream === undefined) byStream = remember(prefixes, key, new Map<string, string>());
  return byStream.get(stream) ?? remember(byStream, stream, escapeMeasurement(SCORE_MEASUREMENT) + tagSection(scoreTags(stream, model, modelVersion)));
}

/** `,share_<channel>=` by channel, escaped. */
const shareNames = new Map<string, string>();

function shareName(channel: string): string {
  return shareNames.get(channel) ?? remember(shareNames, channel, ',' + escapeFieldKey(`share_${channel}`) + '=');
}

/**
 * A score point's line, fields in sorted order without sorting: anomalous, completeness, p_value, score,
 * share_<channel>..., threshold is that order whenever the channels come in name order, as the pipeline
 * orders them. When they do not, the record's way (recordLine) gives the same text.
 */
export function scoreLine(p: ScorePoint): string {
  let out = scorePrefix(p.stream, p.model, p.modelVersion) + (p.anomalous ? ' anomalous=true' : ' anomalous=false');
  // Non-finite numbers are left out, as scoreRecord leaves them out of the record.
  if (Number.isFinite(p.completeness)) out += ',completeness=' + p.completeness;
  if (Number.isFinite(p.pValue)) out += ',p_value=' + p.pValue;
  if (Number.isFinite(p.score)) out += ',score=' + p.score;
  let previous: string | null = null;
  for (const channel in p.channelShares) {
    if (previous !== null && !(previous < channel)) return recordLine(scoreRecord(p));
    previous = channel;
    const share = p.channelShares[channel];
    if (Number.isFinite(share)) out += shareName(channel) + share;
  }
  if (Number.isFinite(p.threshold)) out += ',threshold=' + p.threshold;
  return out + ' ' + castTimestamp(String(Math.round(p.time)), 'ms');
}
