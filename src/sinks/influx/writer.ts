// One InfluxDB 1.x connection through the `influx` package, and what each write response means for the points:
// written, rejected (a bad point: counted, never retried) or to be retried (outage, overload, auth).
// Retries and host back-off are ours (InfluxSink), so the package's own are switched off.
import { InfluxDB } from 'influx';
// The package's index does not re-export its error classes and back-off interface; these paths have been stable
// across 5.x.
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff';
import { RequestError, ServiceNotAvailableError, type IPoolRequestOptions } from 'influx/lib/src/pool';
import { linesOf, recordOf, type PendingPoint } from './line';
import { toPoint } from './points';

export interface InfluxTarget {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** Path prefix before the API (a reverse proxy), '' normally. */
  readonly path: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  /** The URL without credentials, for logs. */
  readonly display: string;
}

/**
 * http://[user:pass@]host:port[/prefix]/database. The last path segment names the database unless `database`
 * is given, in which case the whole path is a prefix.
 */
export function resolveTarget(url: string, database?: string, username?: string, password?: string): InfluxTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('InfluxDB URL is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`InfluxDB URL must start with http:// or https:// (got '${u.protocol}')`);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  const segments = u.pathname.split('/').filter((s) => s !== '');
  const db = database ?? (segments.length ? decodeURIComponent(segments.pop() as string) : '');
  if (!db) throw new Error('InfluxDB database is not set: name it in the URL path (http://host:8086/anomalyd) or with `database`');
  const path = segments.length ? `/${segments.join('/')}` : '';
  const port = u.port ? Number(u.port) : protocol === 'https' ? 443 : 80;
  const user = username ?? (u.username ? decodeURIComponent(u.username) : undefined);
  const pass = password ?? (u.password ? decodeURIComponent(u.password) : undefined);
  const display = `${protocol}://${u.hostname}:${port}${path}/${db}`;
  return { protocol, host: u.hostname, port, path, database: db, username: user, password: pass, display };
}

export type WriteOutcome =
  | { readonly ok: true; readonly written: number; readonly rejected: number; readonly detail: string }
  | { readonly ok: false; readonly status: number | null; readonly detail: string };

/** Never takes a host out of rotation: with one host that would only turn a short outage into a longer one. */
const noBackoff: IBackoffStrategy = {
  getDelay: () => 0,
  next: () => noBackoff,
  reset: () => noBackoff,
};

/**
 * How many points a 400 says were not written. InfluxDB 1.x writes the good points of a batch and answers
 * `partial write: <reason> dropped=N` (field type conflicts, retention) and/or lists each `unable to parse`
 * line; null when the body is not such an answer.
 */
export function rejectedCount(body: string): number | null {
  const dropped = /dropped=(\d+)/.exec(body);
  const unparsed = body.split('unable to parse').length - 1;
  if (!dropped && unparsed === 0) return null;
  return (dropped ? Number(dropped[1]) : 0) + unparsed;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * What writePoints hands to the client's request pool; both are the client's own, as in 5.x (checked when the
 * writer is built: without them writePoints formats the points itself).
 */
interface ClientInternals {
  readonly _pool?: { discard(options: IPoolRequestOptions): Promise<void> };
  readonly _options?: { readonly database?: string | null; readonly username?: unknown; readonly password?: unknown };
}

export class InfluxWriter {
  private readonly client: InfluxDB;
  private readonly internals: Required<ClientInternals> | null;

  constructor(
    readonly target: InfluxTarget,
    timeoutMs: number,
  ) {
    this.client = new InfluxDB({
      protocol: target.protocol,
      host: target.host,
      port: target.port,
      path: target.path,
      database: target.database,
      username: target.username,
      password: target.password,
      pool: { maxRetries: 0, requestTimeout: timeoutMs, backoff: noBackoff },
    });
    const { _pool, _options } = this.client as unknown as ClientInternals;
    this.internals = typeof _pool?.discard === 'function' && typeof _options === 'object' ? { _pool, _options } : null;
  }

  /** CREATE DATABASE is idempotent in 1.x; rejects when InfluxDB is unreachable or the user may not create it. */
  async createDatabase(): Promise<void> {
    await this.client.createDatabase(this.target.database);
  }

  /** Writes a batch; never throws. A 400 for the batch is narrowed down by halving it to the bad points. */
  async write(records: readonly PendingPoint[], createdDatabase = false): Promise<WriteOutcome> {
    if (records.length === 0) return { ok: true, written: 0, rejected: 0, detail: '' };
    try {
      await this.send(records);
      return { ok: true, written: records.length, rejected: 0, detail: '' };
    } catch (err) {
      const status = err instanceof RequestError ? (err.res.statusCode ?? null) : null;
      const detail = describe(err);
      if (status === 404 && detail.includes('database not found') && !createdDatabase) {
        // Dropped (or never created) while we run: create it and write again, once.
        try {
          await this.createDatabase();
        } catch (createErr) {
          return { ok: false, status, detail: `database '${this.target.database}' is missing and cannot be created: ${describe(createErr)}` };
        }
        return this.write(records, true);
      }
      if (status === 400 || status === 413) return this.narrow(records, status, detail);
      // 5xx, timeouts and network errors are worth retrying; so are 401/403 and other 4xx (a configuration
      // problem an operator fixes while the data waits).
      if (status !== null || err instanceof ServiceNotAvailableError || (err as NodeJS.ErrnoException).code) return { ok: false, status, detail };
      // An error before any request (a point the library cannot serialise) is a bad point.
      return this.narrow(records, status, detail);
    }
  }

  /**
   * The request writePoints(points, { precision: 'ms' }) makes, the same bytes (sinks/influx/line.ts), through the same
   * pool; throws as writePoints throws for a point it cannot format.
   */
  private send(points: readonly PendingPoint[]): Promise<void> {
    const internals = this.internals;
    if (internals === null) return this.client.writePoints(points.map((p) => toPoint(recordOf(p))), { precision: 'ms' });
    const { database, username, password } = internals._options;
    return internals._pool.discard({
      body: linesOf(points),
      method: 'POST',
      path: '/write',
      query: { db: database ?? this.target.database, precision: 'ms', rp: undefined },
      auth: typeof username === 'string' ? `${username}:${typeof password === 'string' ? password : ''}` : undefined,
    });
  }

  private async narrow(records: readonly PendingPoint[], status: number | null, detail: string): Promise<WriteOutcome> {
    const rejected = status === 400 ? rejectedCount(detail) : null;
    if (rejected !== null) {
      const n = Math.min(rejected, records.length);
      return { ok: true, written: records.length - n, rejected: n, detail };
    }
    if (records.length === 1) return { ok: true, written: 0, rejected: 1, detail };
    // Rewriting the good half is harmless: each point has its own time, so it overwrites itself.
    const mid = Math.floor(records.length / 2);
    const a = await this.write(records.slice(0, mid));
    if (!a.ok) return a;
    const b = await this.write(records.slice(mid));
    if (!b.ok) return b;
    return { ok: true, written: a.written + b.written, rejected: a.rejected + b.rejected, detail: a.detail || b.detail };
  }
}
