// Shared harness of the suites that run the daemon (the fault and security suites, test/integration/faults*.test.ts
// and security*.test.ts, and every other suite of `anomalyd run`): the daemon as a child process (DaemonProcess:
// start, wait until it runs or is ready, its output, its /metrics, stop), a config written to a temp dir, an HTTP
// webhook receiver whose answers a test controls, and pump samples published over MQTT. The bundled pump model
// (models/pump, 8 channels, window 30) is used as is, so no test spends time training. One-shot commands
// (train, replay, evaluate ...) run through runCli in cli.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import type { Sample } from '../../src/core/types';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { CliProcess, MAIN, ROOT } from './cli';
import { Influxd } from './influxd';
import { startMosquitto, type Mosquitto } from './mosquitto';
import { freePort, ownsListeningPort } from './ports';

export { MAIN, ROOT };
export const PUMP_MODEL = path.join(ROOT, 'models', 'pump');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ConfigParts {
  readonly httpPort: number;
  readonly stateDir: string;
  readonly mqttUrl: string;
  readonly clientId: string;
  readonly modelPath?: string;
  /** YAML lines under `mqtt:` beyond url/client_id/embedded_broker (indented by the caller with two spaces). */
  readonly mqttExtra?: string;
  /** The `sinks:` block body (each line indented by two spaces). */
  readonly sinks?: string;
  /** Extra top-level YAML (log, http extras, queues...). */
  readonly extra?: string;
  /** `defaults.alerting` flow mapping body. */
  readonly alerting?: string;
  readonly hop?: number;
  /** `json` (one sample a message) or `json_array` (a list of samples a message). */
  readonly decoder?: 'json' | 'json_array';
  readonly logLevel?: 'debug' | 'info';
  readonly shutdownGraceMs?: number;
  /** A second subscription, `<root>/+/+/telemetry` -> stream `<root>/{line}/{asset}` (json, pump model). */
  readonly secondSite?: string;
  /** http.admin_token: the operator API takes changes. */
  readonly adminToken?: string;
}

/** A daemon config for pump streams on plant/<line>/<asset>/telemetry scored by the bundled pump model. */
export function pumpConfig(p: ConfigParts): string {
  return `log: { level: ${p.logLevel ?? 'info'} }
http: { host: 127.0.0.1, port: ${p.httpPort}${p.adminToken !== undefined ? `, admin_token: ${p.adminToken}` : ''} }
state_dir: ${p.stateDir}
shutdown_grace_ms: ${p.shutdownGraceMs ?? 10000}
mqtt:
  url: ${p.mqttUrl}
  client_id: ${p.clientId}
  embedded_broker: off
  reconnect: { min_delay_ms: 200, max_delay_ms: 2000, jitter: 0.2 }
${p.mqttExtra ?? ''}
models: { pump: { path: ${p.modelPath ?? PUMP_MODEL} } }
defaults:
  window: { size: 30, hop: ${p.hop ?? 10}, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  alerting: { ${p.alerting ?? 'k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 0'} }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: ${p.decoder ?? 'json'}${p.decoder === 'json_array' ? '\n    sample_rate_hz: 1' : ''}
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
${p.secondSite ? secondSiteSubscription(p.secondSite) : ''}sinks:
  console: { enabled: false }
${p.sinks ?? ''}
${p.extra ?? ''}
`;
}

function secondSiteSubscription(root: string): string {
  return `  - topic: ${root}/+/+/telemetry
    template: ${root}/{line}/{asset}/telemetry
    stream: "${root}/{line}/{asset}"
    decoder: json
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
`;
}

/** `anomalyd run -c FILE` as a child process (everything it prints is kept in `log`) and its HTTP endpoints. */
export class DaemonProcess extends CliProcess {
  constructor(
    configFile: string,
    readonly httpPort: number,
    cwd: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    super(['run', '-c', configFile], cwd, env);
  }

  get base(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Waits until /readyz answers 200 (or the process exits, or timeoutMs passes: then throws with the log). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`daemon exited before it was ready:\n${this.log.slice(-4000)}`);
      const ok = await fetch(`${this.base}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`daemon not ready after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
      await sleep(100);
    }
  }

  /**
   * Waits until the daemon logs that it is running (or exits, or timeoutMs passes: then throws with the log): for
   * a daemon that runs before it is ready, e.g. one whose streams have a model still to learn.
   */
  async started(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (/anomalyd is running/.test(this.log)) return;
      if (!this.running) throw new Error(`daemon exited before it was running:\n${this.log.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`daemon not running after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
      await sleep(100);
    }
  }

  /**
   * Whether the daemon exited at start because its HTTP port was taken; false once it runs (its HTTP server
   * answers, or it logs that it is running: a config may have no HTTP server) or exited for another reason.
   */
  async lostHttpPort(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) return /http\.port \d+ is in use/.test(this.log);
      if (/anomalyd is running/.test(this.log)) return false;
      if ((await fetch(`${this.base}/healthz`).then(() => true, () => false)) && ownsListeningPort(this.pid, this.httpPort)) return false;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  /** Waits until the HTTP server answers at all (any status). */
  async listening(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`daemon exited:\n${this.log.slice(-4000)}`);
      if (await fetch(`${this.base}/healthz`).then(() => true, () => false)) return;
      if (Date.now() > deadline) throw new Error(`daemon HTTP not up after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
      await sleep(100);
    }
  }

  async metricsText(headers: Record<string, string> = {}): Promise<string> {
    return (await fetch(`${this.base}/metrics`, { headers })).text();
  }

  /** Sum of every series of `name` whose labels include `labels` (NaN when absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.metricsText(), name, labels);
  }

  /**
   * Like metric(), for the negative checks ("nothing scored", "nothing dropped"): 0 when the family is exposed
   * but no series matches (a labelled counter never incremented), and an error when the family is not exposed
   * at all (renamed, or /metrics broken), so a check such as `count === 0` cannot pass on a missing metric.
   */
  async count(name: string, labels: Record<string, string> = {}): Promise<number> {
    return counterValue(await this.metricsText(), name, labels);
  }

  /**
   * Waits until everything the daemon took in has gone through: no internal queue holds anything, and no sink
   * holds points or alert notices awaiting delivery. With a count of what was taken in (windows scored, messages
   * received) it is the positive condition before a check that something did NOT happen.
   */
  async drained(timeoutMs = 20_000): Promise<void> {
    await pollUntil(
      'the daemon to drain its queues and sinks',
      async () => {
        const text = await this.metricsText();
        return counterValue(text, 'anomalyd_queue_depth') + counterValue(text, 'anomalyd_sink_buffered_points');
      },
      (held) => held === 0,
      timeoutMs,
      100,
    );
  }

}

export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    found = true;
    sum += Number(line.split(' ').pop());
  }
  return found ? sum : NaN;
}

/** metricValue for negative checks: 0 when no series matches, throws when the family is not exposed at all. */
export function counterValue(text: string, name: string, labels: Record<string, string> = {}): number {
  if (!text.split('\n').some((l) => l.startsWith(`# TYPE ${name} `))) throw new Error(`metric ${name} is not exposed`);
  const v = metricValue(text, name, labels);
  if (Number.isNaN(v)) return 0;
  if (!Number.isFinite(v)) throw new Error(`metric ${name}: not a finite value (${v})`);
  return v;
}

/** The alert state the daemon last saved in `stateDir`/state.json (null before the first save). */
export async function savedAlertState(stateDir: string): Promise<Record<string, { held?: string }> | null> {
  try {
    const state = JSON.parse(await readFile(path.join(stateDir, 'state.json'), 'utf8')) as { alerts?: Record<string, { held?: string }> };
    return state.alerts ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Polls `read` until `cond` holds on its value; returns the value, throws with `what` after timeoutMs. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, cond: (v: T) => boolean, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (cond(v)) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await sleep(everyMs);
  }
}

export interface ReceivedHook {
  readonly at: number;
  readonly key: string;
  readonly status: number;
  readonly body: {
    status: string;
    alerts: { status: string; labels: Record<string, string>; fingerprint: string; sequence: number }[];
  };
  readonly raw: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * An HTTP webhook receiver answering `respond()` (200 unless changed); records every request to its own path.
 * The path carries a random token because test files run two at a time: a daemon of another file still retrying
 * a receiver that has closed can reach this one when the OS hands out the same port again. Such a request is
 * answered 404 and kept apart in `strays`, never counted as a page.
 */
export class HookReceiver {
  readonly requests: ReceivedHook[] = [];
  readonly strays: string[] = [];
  respond: () => number = () => 200;
  private readonly path = `/hook/${randomBytes(8).toString('hex')}`;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        if (req.url !== this.path) {
          this.strays.push(`${req.method ?? ''} ${req.url ?? ''}`);
          res.writeHead(404).end('not this receiver');
          return;
        }
        const status = this.respond();
        let body: ReceivedHook['body'] = { status: '', alerts: [] };
        try {
          body = JSON.parse(raw) as ReceivedHook['body'];
        } catch {
          // recorded as is
        }
        this.requests.push({ at: Date.now(), key: String(req.headers['idempotency-key']), status, body, raw, headers: req.headers });
        res.writeHead(status).end(status < 300 ? 'ok' : 'no');
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}${this.path}`;
  }

  /** Accepted (2xx) requests. */
  delivered(): ReceivedHook[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export function topicOf(asset: string, line = 'line1'): string {
  return `plant/${line}/${asset}/telemetry`;
}

/** A json_array payload carrying several pump samples. */
export function pumpArrayPayload(samples: readonly Sample[]): string {
  return `[${samples.map((s) => pumpPayload(s)).join(',')}]`;
}

/** Publishes messages with at most `parallel` unacknowledged at a time (QoS 1). */
export async function publishAll(pub: MqttPublisher, messages: readonly { topic: string; payload: string }[], parallel = 200): Promise<void> {
  for (let i = 0; i < messages.length; i += parallel) {
    await Promise.all(messages.slice(i, i + parallel).map((m) => pub.publish(m.topic, m.payload, 1)));
  }
}

/** Seeds of the simulated pumps the bundled model was trained on (simAssets('pump', 2, 3, 1)). */
export { simAssets } from '../../src/simulator/signals';

/**
 * Pump samples, one a second from `from`, with every value of the samples in the index ranges `faults` multiplied
 * by 4: far outside anything the model saw, so those windows are anomalous whatever the threshold.
 */
export function pumpSeries(seed: number, from: number, count: number, faults: readonly (readonly [number, number])[] = []): Sample[] {
  return pumpSamples(seed, from, count).map((s, i) =>
    faults.some(([a, b]) => i >= a && i < b) ? { ts: s.ts, values: Float32Array.from(s.values, (v) => v * 4) } : s,
  );
}

/** Where a suite's daemon runs: what its config must say. */
export interface DaemonPlace {
  readonly httpPort: number;
  readonly stateDir: string;
  readonly mqttUrl: string;
}

/** What a fault suite gets from faultSuite(): the services it asked for, and daemons/publishers it starts. */
export interface FaultSuite {
  /** The suite's temp dir (removed after the suite). */
  readonly dir: string;
  readonly mosquitto: Mosquitto;
  /** Throws unless the suite asked for InfluxDB. */
  readonly influx: Influxd;
  /** A webhook receiver (started only when asked for). */
  readonly receiver: HookReceiver;
  /**
   * Writes `<dir>/<name>.yaml` from pumpConfig (state in `<dir>/<name>`, the suite's broker, a free HTTP port,
   * client id anomalyd-<name>) and starts `anomalyd run` on it; stopped after the suite. `edit` rewrites the
   * YAML text before it is written.
   */
  daemon(name: string, parts?: Partial<ConfigParts>, edit?: (yaml: string) => string): Promise<DaemonProcess>;
  /** The same with a config of the test's own: `yaml` gets the port, state dir and broker to write into it. */
  daemonFrom(name: string, yaml: (at: DaemonPlace) => string): Promise<DaemonProcess>;
  /** Starts another daemon on an existing config (a restart); stopped after the suite. */
  restart(previous: DaemonProcess): DaemonProcess;
  /** A QoS 1 publisher on the suite's broker; closed after the suite. */
  publisher(clientId: string): Promise<MqttPublisher>;
}

/**
 * Registers the before/after hooks every fault suite needs: a temp dir, a real Mosquitto, optionally a real
 * InfluxDB and a webhook receiver; after the suite, publishers are closed, daemons stopped (SIGTERM, then
 * SIGKILL after 30 s), services stopped and the temp dir removed. Fields are usable from inside tests.
 */
export function faultSuite(name: string, needs: { influx?: boolean; receiver?: boolean } = {}): FaultSuite {
  let dir = '';
  let mosquitto: Mosquitto | undefined;
  let influx: Influxd | undefined;
  const receiver = new HookReceiver();
  const daemons: DaemonProcess[] = [];
  const publishers: MqttPublisher[] = [];
  const configs = new Map<DaemonProcess, string>();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `anomalyd-faults-${name}-`));
    [mosquitto, influx] = await Promise.all([
      startMosquitto(),
      needs.influx ? Influxd.start() : Promise.resolve(undefined),
      needs.receiver ? receiver.start() : Promise.resolve(),
    ]);
  });

  after(async () => {
    for (const p of publishers) await p.close().catch(() => undefined);
    for (const d of daemons) await d.stop();
    await receiver.close();
    await Promise.allSettled([mosquitto?.close(), influx?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Writes `<dir>/<id>.yaml` and starts `anomalyd run` on it. The HTTP port from freePort() may be taken before
   * the daemon binds it (services of parallel test files): the daemon then exits saying `http.port N is in use`,
   * and is started again on a new port (three tries), unless the caller chose the port.
   */
  const start = async (id: string, yaml: (at: DaemonPlace) => string, fixedPort?: number): Promise<DaemonProcess> => {
    const file = path.join(dir, `${id}.yaml`);
    for (let attempt = 1; ; attempt++) {
      const httpPort = fixedPort ?? (await freePort());
      await writeFile(file, yaml({ httpPort, stateDir: path.join(dir, id), mqttUrl: need(mosquitto, 'Mosquitto').url }));
      const d = new DaemonProcess(file, httpPort, dir);
      daemons.push(d);
      configs.set(d, file);
      if (attempt >= 3 || fixedPort !== undefined || !(await d.lostHttpPort())) return d;
    }
  };
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`faultSuite('${name}'): ${what} is not started (ask for it, and use it inside a test)`);
    return v;
  };
  return {
    get dir() {
      return need(dir || undefined, 'the temp dir');
    },
    get mosquitto() {
      return need(mosquitto, 'Mosquitto');
    },
    get influx() {
      return need(influx, 'InfluxDB');
    },
    receiver,
    daemon(id, parts = {}, edit = (y) => y) {
      const yaml = (at: DaemonPlace): string => edit(pumpConfig({ ...at, clientId: `anomalyd-${id}`, ...parts }));
      return start(id, yaml, parts.httpPort);
    },
    daemonFrom(id, yaml) {
      return start(id, yaml);
    },
    restart(previous) {
      const file = configs.get(previous);
      if (!file) throw new Error('restart(): not a daemon of this suite');
      const d = new DaemonProcess(file, previous.httpPort, dir);
      daemons.push(d);
      configs.set(d, file);
      return d;
    },
    async publisher(clientId) {
      const p = await connectMqttPublisher({ url: need(mosquitto, 'Mosquitto').url, clientId });
      publishers.push(p);
      return p;
    },
  };
}
