// Training data from the plant's own history in InfluxDB (`train`/`calibrate --influx-query`), cut into windows
// exactly as the CSV path cuts recordings, minus the periods that had alerts.
//
// - The query is the operator's (InfluxQL, run as written): its result columns are `time` and the stream's
//   channels by name (alias them, `SELECT mean("x") AS "vib_x_rms" ... GROUP BY time(1s)`). A null cell is a
//   missing value, as an empty CSV cell is. Each series of the answer (one per GROUP BY tag set) is windowed on
//   its own, as each CSV file is.
// - The daemon writes no raw samples to InfluxDB (only scores, alerts and health: docs/design.md, "InfluxDB
//   schema"), so the history comes from whatever already stores the plant's signals (Telegraf, a historian
//   bridge); the alerts come from the daemon's own `anomaly_alert` points of the stream.
// - Alert periods: per alert (fingerprint), from its firing point to its resolved point (or open-ended), started
//   earlier by the pending windows that led to it (n - 1 hops plus one window of samples, since an alert fires
//   only after k of n windows). Every window overlapping a period is left out: training on a fault would teach
//   the model that the fault is normal.
// - Operator feedback: an alert episode an operator labelled false_positive (the daemon's `anomaly_feedback`
//   points, at the episode's start) is not left out: the machine was running normally, and the next model
//   should learn that. One labelled true_positive stays out like any alert.
// - Maintenance periods: from the daemon's `anomaly_maintenance` points, each window's opening to its closing
//   (or its planned end while no closing was written), for the windows whose stream globs cover the stream. A
//   window that selects by labels alone is left out too: the labels of the stream are the topic template's, not
//   known here, and leaving out data the window may not have covered costs less than learning a planned stop.
import type { InfluxConfig } from '../config/schema';
import type { StreamSpec, Window } from '../core/types';
import { asError, errorMessage, InputError } from '../core/errors';
import { windowsFromSeriesIn, type SeriesMode } from '../core/modeSeries';
import type { WindowOptions } from '../core/window';
import { ALERT_MEASUREMENT, FEEDBACK_MEASUREMENT, MAINTENANCE_MEASUREMENT } from '../sinks/influx/points';
import { episodeKey } from '../core/feedback';
import { StreamAllowList } from '../core/streamAdmission';
import { influxIdentifier, influxString, InfluxQueryError, queryInflux, type InfluxSeries } from '../sinks/influx/query';
import { resolveTarget, type InfluxTarget } from '../sinks/influx/writer';

export interface HistoryRequest {
  /** Server, credentials and the database the query runs in. */
  readonly target: InfluxTarget;
  readonly query: string;
  /** Database holding the daemon's `anomaly_alert` points. */
  readonly alertsDatabase: string;
  readonly stream: StreamSpec;
  readonly window: WindowOptions;
  /** `alerting.n` of the stream: how many windows led up to an alert. */
  readonly alertWindows: number;
  /** Only the windows of one operating mode (`--mode`); absent: all. */
  readonly mode?: SeriesMode;
}

export interface AlertPeriod {
  readonly fingerprint: string;
  /** Firing time minus the lead (ms). */
  readonly from: number;
  /** Resolve time (ms); Infinity while still firing at the end of the data. */
  readonly to: number;
}

export interface HistoryWindows {
  readonly windows: Window[];
  /** Windows below min_completeness (never used, as with CSV). */
  readonly insufficient: number;
  /** Complete windows left out because they overlap an alert period. */
  readonly excluded: number;
  readonly samples: number;
  readonly series: number;
  /** The alert periods and maintenance periods (fingerprint `maintenance:<window>`) left out. */
  readonly alertPeriods: readonly AlertPeriod[];
  /** Alert periods used as training data because an operator labelled them false_positive. */
  readonly falsePositives: number;
  /** Set when the alerts could not be read because their database does not exist (no daemon wrote there yet). */
  readonly alertsNote?: string;
}

export async function windowsFromInflux(req: HistoryRequest): Promise<HistoryWindows> {
  const { stream } = req;
  const answer = await queryInflux(req.target, req.query, req.target.database).catch((err: unknown) => {
    throw asInputError(err, '--influx-query');
  });
  const series = answer.map((s) => seriesSamples(s, stream));
  const samples = series.reduce((n, s) => n + s.ts.length, 0);
  if (samples === 0) throw new InputError(`--influx-query: the query returned no rows (database '${req.target.database}')`);

  const periodMs = req.window.samplePeriodMs ?? medianSpacing(series.map((s) => s.ts));
  const leadMs = ((req.alertWindows - 1) * req.window.hop + req.window.size - 1) * periodMs;
  const alerts = await alertPeriodsOf(req, leadMs);
  const maintenance = alerts.note ? [] : await maintenancePeriodsOf(req);
  const falsePositives = alerts.note ? new Set<string>() : await falsePositivesOf(req);
  const alertPeriodsKept = alerts.periods.filter((p) => !falsePositives.has(episodeKey(p.fingerprint, p.from + leadMs)));
  const periods = [...alertPeriodsKept, ...maintenance];
  const labelledFalse = alerts.periods.length - alertPeriodsKept.length;
  const note = alerts.note;

  const windows: Window[] = [];
  let insufficient = 0;
  let excluded = 0;
  for (const s of series) {
    for (const e of windowsFromSeriesIn(stream, s.ts, s.values, req.window, req.mode)) {
      if (e.kind !== 'window') insufficient++;
      else if (periods.some((p) => e.window.start <= p.to && e.window.end >= p.from)) excluded++;
      else windows.push(e.window);
    }
  }
  return { windows, insufficient, excluded, samples, series: series.length, alertPeriods: periods, falsePositives: labelledFalse, ...(note ? { alertsNote: note } : {}) };
}

async function alertPeriodsOf(req: HistoryRequest, leadMs: number): Promise<{ periods: AlertPeriod[]; note?: string }> {
  const q = `SELECT "state", "fingerprint" FROM ${influxIdentifier(req.alertsDatabase)}..${influxIdentifier(ALERT_MEASUREMENT)} WHERE "stream" = ${influxString(req.stream.id)}`;
  let answer: InfluxSeries[];
  try {
    answer = await queryInflux(req.target, q, req.alertsDatabase);
  } catch (err) {
    if (err instanceof InfluxQueryError && err.serverError?.startsWith('database not found')) {
      return { periods: [], note: `no alerts read: database '${req.alertsDatabase}' does not exist (no daemon has written alerts there)` };
    }
    throw asInputError(err, 'reading the alerts');
  }
  const points: AlertPoint[] = [];
  for (const s of answer) {
    const [time, state, fingerprint] = ['time', 'state', 'fingerprint'].map((c) => s.columns.indexOf(c));
    for (const row of s.values) {
      const t = row[time];
      if (typeof t === 'number' && (row[state] === 'firing' || row[state] === 'resolved')) {
        points.push({ time: t, state: row[state], fingerprint: typeof row[fingerprint] === 'string' ? row[fingerprint] : '' });
      }
    }
  }
  return { periods: alertPeriods(points, leadMs) };
}

/** The episodes of the stream labelled false_positive (their latest label), as episodeKey()s. */
async function falsePositivesOf(req: HistoryRequest): Promise<Set<string>> {
  const q = `SELECT "label" FROM ${influxIdentifier(req.alertsDatabase)}..${influxIdentifier(FEEDBACK_MEASUREMENT)} WHERE "stream" = ${influxString(req.stream.id)} GROUP BY "fingerprint"`;
  let answer: InfluxSeries[];
  try {
    answer = await queryInflux(req.target, q, req.alertsDatabase);
  } catch (err) {
    throw asInputError(err, 'reading the alert labels');
  }
  const out = new Set<string>();
  for (const s of answer) {
    const [time, label] = ['time', 'label'].map((c) => s.columns.indexOf(c));
    for (const row of s.values) if (typeof row[time] === 'number' && row[label] === 'false_positive') out.add(episodeKey(s.tags['fingerprint'] ?? '', row[time]));
  }
  return out;
}

async function maintenancePeriodsOf(req: HistoryRequest): Promise<AlertPeriod[]> {
  const q = `SELECT "state", "streams", "end" FROM ${influxIdentifier(req.alertsDatabase)}..${influxIdentifier(MAINTENANCE_MEASUREMENT)} GROUP BY "window"`;
  let answer: InfluxSeries[];
  try {
    answer = await queryInflux(req.target, q, req.alertsDatabase);
  } catch (err) {
    throw asInputError(err, 'reading the maintenance windows');
  }
  const points: MaintenancePoint[] = [];
  for (const s of answer) {
    const [time, state, streams, end] = ['time', 'state', 'streams', 'end'].map((c) => s.columns.indexOf(c));
    for (const row of s.values) {
      const t = row[time];
      if (typeof t !== 'number' || (row[state] !== 'open' && row[state] !== 'closed')) continue;
      points.push({
        window: s.tags['window'] ?? '',
        time: t,
        state: row[state],
        streams: typeof row[streams] === 'string' && row[streams] !== '' ? row[streams].split(',') : ['**'],
        ...(typeof row[end] === 'number' ? { end: row[end] } : {}),
      });
    }
  }
  return maintenancePeriods(points, req.stream.id);
}

export interface MaintenancePoint {
  readonly window: string;
  readonly time: number;
  readonly state: 'open' | 'closed';
  /** The window's stream globs. */
  readonly streams: readonly string[];
  /** On an opening: the planned end (ms). */
  readonly end?: number;
}

/**
 * Each opening of a window covering `stream` to its next closing, or to its planned end when no closing
 * follows (the daemon stopped while it was open), as periods to leave out.
 */
export function maintenancePeriods(points: readonly MaintenancePoint[], stream: string): AlertPeriod[] {
  const out: AlertPeriod[] = [];
  const open = new Map<string, MaintenancePoint>();
  for (const p of [...points].sort((a, b) => a.time - b.time || (a.state === 'open' ? -1 : 1))) {
    if (!new StreamAllowList(p.streams).admits(stream)) continue;
    const was = open.get(p.window);
    if (p.state === 'open') {
      if (was) out.push({ fingerprint: `maintenance:${p.window}`, from: was.time, to: Math.min(p.time, was.end ?? Infinity) });
      open.set(p.window, p);
    } else if (was) {
      open.delete(p.window);
      out.push({ fingerprint: `maintenance:${p.window}`, from: was.time, to: p.time });
    }
  }
  for (const [window, was] of open) out.push({ fingerprint: `maintenance:${window}`, from: was.time, to: was.end ?? Infinity });
  return out.sort((a, b) => a.from - b.from);
}

export interface AlertPoint {
  readonly time: number;
  readonly state: 'firing' | 'resolved';
  readonly fingerprint: string;
}

/**
 * Pairs each alert's firing point with its next resolved point. A second firing point while open (an
 * escalation) changes nothing; an alert still firing at the end stays open; a resolve without a firing point
 * (its firing point was lost) is ignored, since where it started is unknown.
 */
export function alertPeriods(points: readonly AlertPoint[], leadMs: number): AlertPeriod[] {
  const open = new Map<string, number>();
  const out: AlertPeriod[] = [];
  for (const p of [...points].sort((a, b) => a.time - b.time || (a.state === 'firing' ? -1 : 1))) {
    const since = open.get(p.fingerprint);
    if (p.state === 'firing') {
      if (since === undefined) open.set(p.fingerprint, p.time);
    } else if (since !== undefined) {
      open.delete(p.fingerprint);
      out.push({ fingerprint: p.fingerprint, from: since - leadMs, to: p.time });
    }
  }
  for (const [fingerprint, since] of open) out.push({ fingerprint, from: since - leadMs, to: Infinity });
  return out.sort((a, b) => a.from - b.from);
}

interface SeriesSamples {
  readonly ts: Float64Array;
  readonly values: Float32Array;
}

function seriesSamples(s: InfluxSeries, stream: StreamSpec): SeriesSamples {
  const label = `series '${s.name}'${Object.keys(s.tags).length ? ` ${JSON.stringify(s.tags)}` : ''}`;
  const timeIdx = s.columns.indexOf('time');
  if (timeIdx < 0) throw new InputError(`--influx-query: ${label} has no time column`);
  const idx = stream.channels.map((c) => {
    const i = s.columns.indexOf(c);
    if (i < 0) {
      const have = s.columns.filter((x) => x !== 'time').map((x) => `"${x}"`).join(', ');
      throw new InputError(
        `--influx-query: ${label} has no column "${c}" (it has ${have}); stream '${stream.id}' needs ${stream.channels.join(', ')}: select or alias them, e.g. SELECT mean("x") AS "${c}"`,
      );
    }
    return i;
  });
  const n = s.values.length;
  const ts = new Float64Array(n);
  const values = new Float32Array(n * idx.length);
  let prev = -Infinity;
  s.values.forEach((row, r) => {
    const t = row[timeIdx];
    if (typeof t !== 'number' || !(t > prev)) throw new InputError(`--influx-query: ${label} row ${r + 1}: time ${JSON.stringify(t)} is not an increasing epoch time`);
    ts[r] = prev = t;
    idx.forEach((i, c) => {
      const v = row[i];
      if (v === null || v === undefined) values[r * idx.length + c] = NaN;
      else if (typeof v === 'number' && Number.isFinite(v)) values[r * idx.length + c] = v;
      else throw new InputError(`--influx-query: ${label} row ${r + 1} column "${stream.channels[c]}": ${JSON.stringify(v)} is not a number`);
    });
  });
  return { ts, values };
}

/** The typical sample spacing (ms) when the config names none: the median step of the data. */
function medianSpacing(series: readonly Float64Array[]): number {
  const steps: number[] = [];
  for (const ts of series) for (let i = 1; i < ts.length && steps.length < 100_000; i++) steps.push(ts[i] - ts[i - 1]);
  if (steps.length === 0) return 1000;
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)] ?? 1000;
}

function asInputError(err: unknown, what: string): Error {
  if (err instanceof InfluxQueryError) return new InputError(`${what}: ${err.message}`);
  return asError(err);
}

/**
 * Where to read: `--influx-url` (http://host:8086/<database>) or else the config's `sinks.influx`; credentials
 * always from the config's `sinks.influx` (never from the command line, where `ps` would show them). Alerts
 * are read from the database the config's daemon writes to, or else from the queried one.
 */
export function historyTarget(influx: InfluxConfig | undefined, url: string | undefined): { target: InfluxTarget; alertsDatabase: string } {
  const base = url ?? influx?.url;
  if (base === undefined) {
    throw new InputError('--influx-query needs an InfluxDB: give --influx-url http://host:8086/<database> or configure sinks.influx');
  }
  try {
    const target = resolveTarget(base, url === undefined ? influx?.database : undefined, influx?.username, influx?.password);
    const alertsDatabase = influx ? resolveTarget(influx.url, influx.database).database : target.database;
    return { target, alertsDatabase };
  } catch (err) {
    throw new InputError(`${url !== undefined ? '--influx-url' : 'sinks.influx.url'}: ${errorMessage(err)}`);
  }
}
