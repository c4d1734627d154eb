// A real InfluxDB 1.x (Debian `influxdb`) for integration tests: its own config, data, meta and WAL under a temp
// dir, HTTP and RPC on free loopback ports, reporting and self-monitoring off. down() and up() stop and start
// the SAME instance (same dirs, same port) to make outages; stop() kills it and removes everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensurePackage } from './ensurePackage';
import { ownsListeningPort, startOnFreePort } from './ports';

const INFLUXD = '/usr/bin/influxd';

export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** Starts a fresh InfluxDB; the caller stops it. */
export function startInfluxd(): Promise<Influxd> {
  return Influxd.start();
}

export class Influxd {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Base URL, e.g. http://127.0.0.1:40123 (append /<database> for the sink). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A fresh instance; ports taken between freePort() and the bind are replaced (startOnFreePort). */
  static start(): Promise<Influxd> {
    ensurePackage(INFLUXD, 'influxdb');
    return startOnFreePort((http, rpc) => Influxd.startOn(http, rpc), 2);
  }

  private static async startOn(http: number, rpc: number): Promise<Influxd> {
    const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-influxd-'));
    const config = `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
  logging-enabled = false
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${http}"
  log-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
`;
    await writeFile(path.join(dir, 'influxdb.conf'), config);
    const db = new Influxd(dir, http);
    try {
      await db.up();
    } catch (err) {
      await db.stop();
      throw err;
    }
    return db;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the process (again) and waits until /ping answers. */
  async up(): Promise<void> {
    if (this.child) return;
    const child = spawn(INFLUXD, ['-config', path.join(this.dir, 'influxdb.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`influxd exited during start-up:\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/ping`);
        // The answer may come from another process that took the port between freePort() and now: ours then
        // fails to bind and exits saying so (and start() retries on new ports). Only our own socket counts.
        if (res.status === 204 && ownsListeningPort(child.pid, this.port)) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`influxd did not answer /ping within 30 s:\n${this.output}`);
  }

  /** Stops the process (SIGTERM, SIGKILL after 10 s), keeping its data and port for up(). */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }

  /** Kills the process and removes its directory. */
  async stop(): Promise<void> {
    await this.down('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs InfluxQL; returns the series of the first statement (throws on an error in the answer). */
  async query(q: string, db?: string): Promise<QuerySeries[]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const res = await fetch(`${this.url}/query`, { method: 'POST', body: params });
    const body = (await res.json()) as { error?: string; results?: { error?: string; series?: QuerySeries[] }[] };
    const first = body.results?.[0];
    if (body.error || first?.error) throw new Error(`InfluxQL '${q}' failed: ${body.error ?? first?.error}`);
    return first?.series ?? [];
  }

  /** Writes raw line protocol (ms precision); returns the HTTP status and body. */
  async writeLines(db: string, lines: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.url}/write?db=${encodeURIComponent(db)}&precision=ms`, { method: 'POST', body: lines });
    return { status: res.status, body: await res.text() };
  }
}
