// A real Mosquitto for integration tests: its own config, persistence dir and log in a temp dir, a listener on a
// free loopback port. stop() (SIGTERM: the broker saves its sessions), kill() (SIGKILL) and restart() on the
// same port let tests cut the connection under a client and bring the broker back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isPortListening } from '../../src/sources/broker';
import { ensurePackage } from './ensurePackage';
import { startOnFreePort } from './ports';

const BINARY = '/usr/sbin/mosquitto';

export interface Mosquitto {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful stop (SIGTERM); sessions are saved to the persistence file. */
  stop(): Promise<void>;
  /** SIGKILL: nothing saved. */
  kill(): Promise<void>;
  /** Starts the broker again on the same port with the same config and persistence. */
  restart(): Promise<void>;
  /** Stops the broker and removes the temp dir. */
  close(): Promise<void>;
  log(): string;
}

export interface MosquittoTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Require a client certificate signed by the CA (mutual TLS). */
  readonly requireCertificate?: boolean;
}

/**
 * Starts Mosquitto; with `tls` its only listener speaks TLS and the URL is mqtts://. `extraConfig` lines are
 * appended to its config (e.g. a plugin that refuses some subscriptions).
 */
type MosquittoOptions = { tls?: MosquittoTls; extraConfig?: readonly string[] };

/**
 * A port from freePort() is free when asked, not when mosquitto binds it: another test may take it in between.
 * A start that fails because the address is in use is tried again on a new port (at most three times).
 */
export function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  return startOnFreePort((port) => startMosquittoOnce(opts, port));
}

async function startMosquittoOnce(opts: MosquittoOptions, port: number): Promise<Mosquitto> {
  ensurePackage(BINARY, 'mosquitto');
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  const logFile = path.join(dir, 'mosquitto.log');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(opts.tls
        ? [`cafile ${opts.tls.caFile}`, `certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`, `require_certificate ${opts.tls.requireCertificate ? 'true' : 'false'}`]
        : []),
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 100000',
      'max_inflight_messages 20',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      // As root, mosquitto would switch to the 'mosquitto' user, which cannot write the temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    // Listening alone could be another process on the port; mosquitto logs 'running' once it has bound it. The
    // count is taken before the spawn: on a loaded machine the child can log 'running' before this process runs again.
    const runningBefore = runningLines(readLog());
    const proc = spawn(BINARY, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(runningLines(readLog()) > runningBefore && (await isPortListening('127.0.0.1', port, 200)))) {
      if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        const ended = proc.exitCode !== null ? ` (exited ${proc.exitCode})` : proc.signalCode !== null ? ` (killed by ${proc.signalCode})` : '';
        const error = new Error(`mosquitto did not start on port ${port}${ended}: ${stderr}\n${readLog()}`);
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      await launch();
    },
    close: async () => {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    log: readLog,
  };
}

/** Mosquitto's dynamic-security plugin (Debian's mosquitto package), which gives ACLs without a password file. */
export const DYNAMIC_SECURITY_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
/** A test's skip reason where the plugin is missing, else false. */
export const dynamicSecurityMissing: string | false = existsSync(DYNAMIC_SECURITY_PLUGIN) ? false : `${DYNAMIC_SECURITY_PLUGIN} not installed`;

/** A Mosquitto where anonymous clients may do everything but subscribe to `topicPattern` (an ACL refusal). */
export async function startMosquittoRefusingSubscribe(topicPattern: string, extraConfig: readonly string[] = []): Promise<Mosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-dynsec-'));
  const acl = path.join(dir, 'dynamic-security.json');
  writeFileSync(
    acl,
    JSON.stringify({
      defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
      clients: [],
      groups: [{ groupname: 'anonymous', roles: [{ rolename: 'refused' }] }],
      roles: [{ rolename: 'refused', acls: [{ acltype: 'subscribePattern', topic: topicPattern, priority: 0, allow: false }] }],
      anonymousGroup: 'anonymous',
    }),
  );
  let broker: Mosquitto;
  try {
    broker = await startMosquitto({ extraConfig: [...extraConfig, `plugin ${DYNAMIC_SECURITY_PLUGIN}`, `plugin_opt_config_file ${acl}`] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...broker,
    close: async () => {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** How many times mosquitto's log says it runs (one per start; the log is kept across restarts). */
function runningLines(log: string): number {
  return log.match(/ mosquitto version \S+ running/g)?.length ?? 0;
}

/** Polls `condition` until it holds; fails with `what` (and the last value of `show`) after timeoutMs. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000, show?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${show ? `: ${JSON.stringify(show())}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
