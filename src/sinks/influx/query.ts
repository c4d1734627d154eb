// Reading from InfluxDB 1.x through the `influx` package, for training and calibrating from history. It lives
// beside the writer because this directory is the only place that imports the package; nothing here is a sink.
// The answer is checked field by field: it comes from a server, so it is input, not a trusted type.
import { InfluxDB } from 'influx';
import { RequestError } from 'influx/lib/src/pool';
import { errorMessage } from '../../core/errors';
import type { InfluxTarget } from './writer';

/** One series of a query result: its columns (the first is `time`, epoch ms) and rows. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly unknown[])[];
}

export class InfluxQueryError extends Error {
  override readonly name = 'InfluxQueryError';
  constructor(
    message: string,
    /** The server's own words, e.g. "database not found: x". */
    readonly serverError: string | undefined,
  ) {
    super(message);
  }
}

/** Runs one InfluxQL statement (POST, so a long query never ends up in a URL or a proxy log); times in ms. */
export async function queryInflux(target: InfluxTarget, query: string, database: string, timeoutMs = 300_000): Promise<InfluxSeries[]> {
  const client = new InfluxDB({
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    path: target.path,
    database,
    username: target.username,
    password: target.password,
    pool: { maxRetries: 0, requestTimeout: timeoutMs },
  });
  let raw: unknown;
  try {
    raw = (await client.queryRaw(query, { database, precision: 'ms', method: 'POST' })) as unknown;
  } catch (err) {
    // The package keeps the response body only in its message: "A 400 Bad Request error occurred: <body>".
    const server = err instanceof RequestError ? serverErrorOf(err.message.slice(err.message.indexOf('occurred: ') + 10)) : undefined;
    const status = err instanceof RequestError ? ` (HTTP ${err.res.statusCode ?? '?'})` : '';
    const why = server ?? redact(errorMessage(err), target.password);
    throw new InfluxQueryError(`InfluxDB at ${target.display.replace(/\/[^/]*$/, '')}${status}: ${why}`, server);
  }
  return parseResults(raw);
}

function serverErrorOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isRecord(parsed) && typeof parsed['error'] === 'string') return parsed['error'];
  } catch {
    // not JSON: fall back to the client's message
  }
  return undefined;
}

function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The series of the first statement; a statement error becomes an InfluxQueryError. */
export function parseResults(raw: unknown): InfluxSeries[] {
  if (!isRecord(raw)) throw new InfluxQueryError('InfluxDB answered something that is not a query result', undefined);
  if (typeof raw['error'] === 'string') throw new InfluxQueryError(`InfluxDB: ${raw['error']}`, raw['error']);
  const results = raw['results'];
  if (!Array.isArray(results) || results.length === 0) return [];
  const first = results[0] as unknown;
  if (!isRecord(first)) throw new InfluxQueryError('InfluxDB answered a malformed query result', undefined);
  if (typeof first['error'] === 'string') throw new InfluxQueryError(`InfluxDB: ${first['error']}`, first['error']);
  const series = first['series'];
  if (series === undefined) return [];
  if (!Array.isArray(series)) throw new InfluxQueryError('InfluxDB answered a malformed series list', undefined);
  return series.map((s: unknown, i): InfluxSeries => {
    if (!isRecord(s) || !Array.isArray(s['columns']) || !s['columns'].every((c) => typeof c === 'string')) {
      throw new InfluxQueryError(`InfluxDB answered a malformed series #${i}`, undefined);
    }
    const values = Array.isArray(s['values']) ? (s['values'] as unknown[]) : [];
    if (!values.every((row) => Array.isArray(row))) throw new InfluxQueryError(`InfluxDB answered malformed rows in series #${i}`, undefined);
    const tags: Record<string, string> = {};
    if (isRecord(s['tags'])) for (const [k, v] of Object.entries(s['tags'])) tags[k] = String(v);
    return { name: typeof s['name'] === 'string' ? s['name'] : '', tags, columns: s['columns'], values: values as unknown[][] };
  });
}

/** An InfluxQL string literal ('...' with \ and ' escaped), for values such as a stream id. */
export function influxString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An InfluxQL identifier ("..." with \ and " escaped), for database and measurement names. */
export function influxIdentifier(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
