// A real Prometheus Alertmanager for integration tests: the Debian binary on a free loopback port, with a
// temporary storage dir and a minimal config (one receiver that sends nothing), clustering off. Installed
// with apt when missing, like the other test services.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensurePackage } from './ensurePackage';
import { ownsListeningPort, startOnFreePort } from './ports';

const BINARY = '/usr/bin/prometheus-alertmanager';

const CONFIG = `route:
  receiver: blackhole
  group_wait: 30s
receivers:
  - name: blackhole
`;

export interface AlertmanagerProcess {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  stop(): Promise<void>;
}

/** One alert as GET /api/v2/alerts returns it (the fields the tests read). */
export interface GettableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
  readonly status: { readonly state: string };
}

/** Starts one; a port taken between freePort() and the bind is replaced by a new one (startOnFreePort). */
export function startAlertmanager(): Promise<AlertmanagerProcess> {
  ensurePackage(BINARY, 'prometheus-alertmanager');
  return startOnFreePort((port) => startAlertmanagerOn(port));
}

async function startAlertmanagerOn(port: number): Promise<AlertmanagerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'alertmanager-'));
  const configFile = path.join(dir, 'alertmanager.yml');
  writeFileSync(configFile, CONFIG);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Empty: no gossip cluster, so nothing binds 9094 and parallel test runs do not find each other.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, port, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

/** The alerts Alertmanager reports (by default active, silenced, inhibited and unprocessed ones). */
export async function getAlerts(url: string): Promise<GettableAlert[]> {
  const res = await fetch(`${url}/api/v2/alerts`);
  if (!res.ok) throw new Error(`GET /api/v2/alerts: HTTP ${res.status}`);
  return (await res.json()) as GettableAlert[];
}

async function waitReady(url: string, port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}: ${stderr()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      // Only our own socket counts: another process that took the port answers too, while ours fails to bind
      // and exits saying so (then startOnFreePort tries a new port).
      if (res.ok && ownsListeningPort(child.pid, port)) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`alertmanager not ready within 30 s: ${stderr()}`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
