// A real Prometheus server (Debian `prometheus`) for the deploy tests: the given prometheus.yml (plus any rule
// files it names, by absolute path) in a temp dir, TSDB in that dir, the web API on a free loopback port.
// query() runs PromQL through /api/v1/query exactly as Grafana's Prometheus datasource does, so a dashboard
// query that Prometheus rejects fails here the way it would fail in Grafana.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensurePackage } from './ensurePackage';
import { ownsListeningPort, startOnFreePort } from './ports';

export const PROMETHEUS = '/usr/bin/prometheus';

/** One element of an instant query's vector result. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** The answer of /api/v1/query, with the error text when status is "error". */
export interface PromQueryAnswer {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { resultType: string; result: PromSample[] | [number, string] };
}

/** A rule as /api/v1/rules reports it: health "ok" means its last evaluation succeeded. */
export interface PromRule {
  readonly name: string;
  readonly type: 'alerting' | 'recording';
  readonly health: string;
  readonly lastError?: string;
}

export interface PrometheusProcess {
  readonly url: string;
  query(expr: string): Promise<PromQueryAnswer>;
  /** Label sets of the series matching a selector (/api/v1/series), like Grafana's label_values(). */
  series(match: string): Promise<Record<string, string>[]>;
  rules(): Promise<PromRule[]>;
  /** Prometheus's own stderr (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts one; a port taken between freePort() and the bind is replaced by a new one (startOnFreePort). */
export function startPrometheus(configYaml: string): Promise<PrometheusProcess> {
  ensurePackage(PROMETHEUS, 'prometheus');
  return startOnFreePort((port) => startPrometheusOn(configYaml, port));
}

async function startPrometheusOn(configYaml: string, port: number): Promise<PrometheusProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, configYaml);
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited during start-up (code ${child.exitCode}):\n${stderr}`);
    }
    try {
      // Only our own socket counts: another process that took the port answers too, while ours fails to bind
      // and exits saying so (then startOnFreePort tries a new port).
      if ((await fetch(`${url}/-/ready`)).status === 200 && ownsListeningPort(child.pid, port)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const api = async <T>(endpoint: string, params: Record<string, string>): Promise<T> => {
    // POST form like Grafana's datasource (httpMethod: POST): long dashboard queries do not hit URL limits.
    const res = await fetch(`${url}${endpoint}`, { method: 'POST', body: new URLSearchParams(params) });
    return (await res.json()) as T;
  };
  return {
    url,
    query: (expr) => api<PromQueryAnswer>('/api/v1/query', { query: expr }),
    series: async (match) => {
      const body = await api<{ status: string; data?: Record<string, string>[]; error?: string }>('/api/v1/series', { 'match[]': match });
      if (body.status !== 'success') throw new Error(`series ${match}: ${body.error ?? 'failed'}`);
      return body.data ?? [];
    },
    rules: async () => {
      const res = await fetch(`${url}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: { rules: PromRule[] }[] } };
      return body.data.groups.flatMap((g) => g.rules);
    },
    log: () => stderr,
    stop,
  };
}
