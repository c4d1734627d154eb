// Every configuration file shipped under config/ and deploy/ (found by listing, so a new one is covered without
// editing this test) is checked the way a user meets it: `anomalyd validate -c FILE` accepts it, and `anomalyd
// run -c FILE` scores windows of simulated data from a real Mosquitto without one ERROR line. Only what a test
// machine must change is changed: ports, the broker, sink endpoints, state_dir and secret files (the file is
// copied into a temporary tree laid out like the repository, with models/ linked in, so relative paths resolve
// as they do for the original). A file that is a detector profile (config/benchmarks: `defaults` only, no
// subscriptions) is validated; it has no stream to run.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { isScalar, isSeq, parseAllDocuments, parseDocument, visit, type Document } from 'yaml';
import { configSchema } from '../../src/config/schema';
import { startAlertmanager, type AlertmanagerProcess } from '../helpers/alertmanager';
import { CliProcess, ROOT } from '../helpers/cli';
import { Influxd } from '../helpers/influxd';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';
import { EdgeNode } from '../helpers/sparkplugEdge';
import { pumpSamples, simAssets } from '../../src/simulator/signals';
import { pumpSeries } from '../helpers/faults';
import { SimulatedPlc } from '../helpers/opcuaServer';

const SECTIONS = new Set(Object.keys(configSchema.properties));

/**
 * Every YAML file under config/ and deploy/ that is one document whose top-level keys are all anomalyd
 * configuration sections (Kubernetes manifests hold several documents; compose, Prometheus and Alertmanager
 * files have keys of their own).
 */
function shippedConfigs(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return walk(rel);
      return /\.ya?ml$/.test(e.name) ? [rel] : [];
    });
  return [...walk('config'), ...walk('deploy')]
    .filter((rel) => {
      const docs = parseAllDocuments(readFileSync(path.join(ROOT, rel), 'utf8'));
      if (!Array.isArray(docs) || docs.length !== 1) return false;
      const data = docs[0]?.toJS() as unknown;
      return data !== null && typeof data === 'object' && !Array.isArray(data) && Object.keys(data).length > 0 && Object.keys(data).every((k) => SECTIONS.has(k));
    })
    .sort();
}

const CONFIGS = shippedConfigs();

/** The services every case talks to, started once. */
interface Services {
  readonly mosquitto: Mosquitto;
  readonly influx: Influxd;
  readonly alertmanager: AlertmanagerProcess;
  /** A local HTTP receiver for webhooks (answers 204). */
  readonly receiverUrl: string;
}

let services: Services | undefined;
/** The simulated PLC of the files with an `opcua` section (started by the first of them). */
let plc: SimulatedPlc | undefined;
/** What replaceSecretFiles writes for a `password_file`: the PLC's users accept it for `anomalyd`. */
const PASSWORD_FILE_SECRET = 'test-password_file-0123456789abcdef';
/** Stops of what before() started, in start order (after() runs them backwards, also after a failed start). */
const stops: (() => Promise<void>)[] = [];
let tmp = '';

function svc(): Services {
  if (!services) throw new Error('the test services did not start');
  return services;
}

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'anomalyd-shipped-'));
  stops.push(() => rm(tmp, { recursive: true, force: true }));
  const mosquitto = await startMosquitto();
  stops.push(() => mosquitto.close());
  const influx = await Influxd.start();
  stops.push(() => influx.stop());
  const alertmanager = await startAlertmanager();
  stops.push(() => alertmanager.stop());
  const receiver: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  stops.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const address = receiver.address();
  const receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  services = { mosquitto, influx, alertmanager, receiverUrl };
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
});

test('the listing finds the daemon configurations and only those', () => {
  for (const known of ['config/default.yaml', 'config/plant.example.yaml', 'config/ecg.example.yaml', 'deploy/anomalyd/config.yaml', 'deploy/k8s/config.yaml']) {
    assert.ok(CONFIGS.includes(known), `${known} is listed (found: ${CONFIGS.join(', ')})`);
  }
  for (const other of ['deploy/compose.yaml', 'deploy/alertmanager/alertmanager.yml', 'deploy/k8s/kustomization.yaml']) {
    assert.ok(!CONFIGS.includes(other), `${other} is not an anomalyd configuration`);
  }
});

/** What the test machine changes in a shipped file: endpoints, ports, state, secrets, the simulator's pace. */
interface Prepared {
  readonly file: string;
  readonly cwd: string;
  readonly httpPort: number;
  readonly runnable: boolean;
  /** It has MQTT subscriptions (else its streams come from OPC UA: the simulated PLC feeds them). */
  readonly mqttStreams: boolean;
  readonly builtInSimulator: boolean;
  /** sparkplug: pump data from Sparkplug B edge nodes (`anomalyd simulate` publishes JSON or f32le only). */
  readonly profile: 'pump' | 'ecg' | 'sparkplug';
}

/** The variables the shipped files read (${VAR} / ${VAR:-default}), pointed at this test's services. */
function envFor(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ALERT_WEBHOOK_URL: svc().receiverUrl,
    MQTT_URL: svc().mosquitto.url,
    INFLUX_URL: `${svc().influx.url}/anomalyd`,
    ALERTMANAGER_URL: svc().alertmanager.url,
    // The k8s file takes the shard from the pod name by default; this host is no pod.
    ANOMALYD_SHARD_INDEX: '0',
    ANOMALYD_SHARD_COUNT: '1',
    ...(plc ? { OPCUA_URL: plc.endpointUrl, OPCUA_SERVER_CERT: plc.certificateFile } : {}),
  };
}

async function prepare(rel: string): Promise<Prepared> {
  const caseDir = await mkdtemp(path.join(tmp, 'case-'));
  const file = path.join(caseDir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  // Relative model paths resolve as for the original, whether against the working directory (the case root)
  // or against the file's own directory.
  await symlink(path.join(ROOT, 'models'), path.join(caseDir, 'models'));
  if (!existsSync(path.join(path.dirname(file), 'models'))) await symlink(path.join(ROOT, 'models'), path.join(path.dirname(file), 'models'));

  const doc = parseDocument(readFileSync(path.join(ROOT, rel), 'utf8'));
  const httpPort = await freePort();
  const subscriptions = doc.get('subscriptions');
  const mqttStreams = isSeq(subscriptions) && subscriptions.items.length > 0;
  const opcua = doc.has('opcua');
  const runnable = mqttStreams || opcua;
  if (opcua) await startPlc(doc);
  if (runnable) {
    doc.setIn(['http', 'host'], '127.0.0.1');
    doc.setIn(['http', 'port'], httpPort);
    doc.setIn(['http', 'enabled'], true);
    doc.setIn(['state_dir'], path.join(caseDir, 'state'));
    const { mosquitto, influx, alertmanager } = svc();
    doc.setIn(['mqtt', 'url'], mosquitto.url);
    if (doc.hasIn(['sinks', 'influx'])) doc.setIn(['sinks', 'influx', 'url'], `${influx.url}/anomalyd`);
    if (doc.hasIn(['sinks', 'alertmanager'])) doc.setIn(['sinks', 'alertmanager', 'url'], alertmanager.url);
  }
  await replaceSecretFiles(doc, caseDir);
  const builtInSimulator = doc.getIn(['simulator', 'enabled']) === true;
  if (builtInSimulator) {
    // The demo's pace (1 Hz, a fault every two minutes) would take 30 s to the first window.
    doc.setIn(['simulator', 'rate_hz'], 20);
    doc.setIn(['simulator', 'anomaly_every_s'], 0);
    // As a user runs the demo: anomalyd's own in-process broker (on a free port), which its simulator feeds;
    // it never publishes simulated data to a broker it did not start.
    if (doc.getIn(['mqtt', 'embedded_broker']) !== 'off') doc.setIn(['mqtt', 'url'], `mqtt://127.0.0.1:${await freePort()}`);
  }
  const decoder = doc.getIn(['subscriptions', 0, 'decoder']);
  await writeFile(file, doc.toString());
  return { file, cwd: caseDir, httpPort, runnable, mqttStreams, builtInSimulator, profile: decoder === 'f32le' ? 'ecg' : decoder === 'sparkplug_b' ? 'sparkplug' : 'pump' };
}

/**
 * A simulated PLC whose objects are the file's OPC UA streams (Pump1, Pump2: the pump signals the bundled model
 * knows, a plant second every 20 ms), with its security and the test password; the file samples every change
 * and publishes every 100 ms to keep that pace.
 */
async function startPlc(doc: Document): Promise<void> {
  const t0 = Math.floor((Date.now() - 7_200_000) / 1000) * 1000;
  if (!plc) {
    plc = await SimulatedPlc.start({
      assets: [1, 2].map((i) => ({ name: `Pump${i}`, samples: pumpSeries(i * 7, t0, 3_000) })),
      secure: true,
      users: { anomalyd: PASSWORD_FILE_SECRET },
    });
    stops.push(async () => {
      await plc?.stop();
      plc = undefined;
    });
  }
  const subs = doc.getIn(['opcua', 'subscriptions']);
  if (!isSeq(subs)) return;
  subs.items.forEach((_, k) => {
    doc.setIn(['opcua', 'subscriptions', k, 'sampling_interval_ms'], 0);
    doc.setIn(['opcua', 'subscriptions', k, 'publishing_interval_ms'], 100);
  });
}

/** `*_file` secrets at absolute paths only a deployment has (/run/secrets/...): a temporary file instead. */
async function replaceSecretFiles(doc: Document, caseDir: string): Promise<void> {
  const replaced: { key: string; node: { value: unknown } }[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && pair.key.value.endsWith('_file') && isScalar(pair.value)) {
        const value = pair.value.value;
        if (typeof value === 'string' && path.isAbsolute(value) && !existsSync(value)) replaced.push({ key: pair.key.value, node: pair.value });
      }
      return undefined;
    },
  });
  for (const [i, r] of replaced.entries()) {
    const secret = path.join(caseDir, `secret-${i}`);
    await writeFile(secret, `test-${r.key}-0123456789abcdef\n`);
    r.node.value = secret;
  }
}

function cli(args: string[], cwd: string): CliProcess {
  return new CliProcess(args, cwd, envFor());
}

/** The exit code of a command run to its end. */
async function exitCode(p: CliProcess): Promise<number | null> {
  return (await p.exited).code;
}

async function scoredWindows(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  const line = text.split('\n').find((l) => l.startsWith('anomalyd_windows_scored_total '));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Log lines at ERROR, in either log format. */
function errorLines(log: string): string[] {
  return log.split('\n').filter((line) => {
    if (line.startsWith('{')) {
      try {
        return (JSON.parse(line) as { level?: string }).level === 'error';
      } catch {
        return false;
      }
    }
    return /^\S+ ERROR /.test(line);
  });
}

async function waitConnected(port: number, daemon: CliProcess, rel: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    if (/^anomalyd_mqtt_connected 1$/m.test(text)) return;
    if (!daemon.running || Date.now() > deadline) assert.fail(`run -c ${rel} did not connect to the broker:\n${daemon.log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Two Sparkplug B edge nodes of the subscription's group (its topic spBv1.0/<group>/...) born, then a minute of
 * pump data each, one sample a second ending now: enough for windows of the bundled pump model.
 */
async function publishSparkplug(topic: string): Promise<void> {
  const group = topic.split('/')[1] ?? 'plant';
  const client = await mqtt.connectAsync(svc().mosquitto.url, { clientId: 'shipped-edge-nodes', clean: true });
  try {
    const from = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    for (const [i, seed] of simAssets('pump', 2, 3, 1).map((a) => a.seed).entries()) {
      const node = new EdgeNode(client, group, `gw${i + 1}`);
      const samples = pumpSamples(seed, from, 60);
      await node.birth(samples[0]);
      await node.data(samples.slice(1));
    }
  } finally {
    await client.endAsync();
  }
}

for (const rel of CONFIGS) {
  test(`${rel}: validate accepts it and run scores simulated windows without an ERROR line`, async (t) => {
    const prepared = await prepare(rel);
    const validate = cli(['validate', '-c', prepared.file], prepared.cwd);
    assert.equal(await exitCode(validate), 0, `validate -c ${rel}:\n${validate.log}`);
    if (!prepared.runnable) {
      t.diagnostic('a detector profile (no subscriptions): validated, nothing to run live');
      return;
    }
    const daemon = cli(['run', '-c', prepared.file], prepared.cwd);
    let sim: ReturnType<typeof cli> | undefined;
    try {
      if (prepared.profile === 'sparkplug') {
        // Births are not kept by the broker: the daemon must be subscribed before the edge nodes are born.
        await waitConnected(prepared.httpPort, daemon, rel);
        await publishSparkplug(String(parseDocument(readFileSync(prepared.file, 'utf8')).getIn(['subscriptions', 0, 'topic'])));
      } else if (!prepared.builtInSimulator && prepared.mqttStreams) {
        const rate = prepared.profile === 'pump' ? ['--rate-hz', '20'] : [];
        sim = cli(['simulate', '--url', svc().mosquitto.url, '--profile', prepared.profile, '--assets', '2', '--anomaly-every', '0', '--duration', '60', ...rate], prepared.cwd);
      }
      const deadline = Date.now() + 45_000;
      let scored = 0;
      while ((scored = await scoredWindows(prepared.httpPort)) === 0) {
        if (!daemon.running) assert.fail(`run -c ${rel} exited with ${String(await exitCode(daemon))}:\n${daemon.log}`);
        if (Date.now() > deadline) assert.fail(`run -c ${rel} scored no window within 45 s:\n${daemon.log}\n${sim?.log ?? ''}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(scored > 0);
    } finally {
      if (sim) await sim.stop();
      const { code } = await daemon.stop();
      assert.equal(code, 0, `run -c ${rel} stopped cleanly:\n${daemon.log}`);
    }
    assert.deepEqual(errorLines(daemon.log), [], `no ERROR line from run -c ${rel}`);
  });
}

test('run refuses a window that contradicts its model at start, with the message validate gives', async () => {
  const caseDir = await mkdtemp(path.join(tmp, 'refuse-'));
  const file = path.join(caseDir, 'plant.yaml');
  await writeFile(
    file,
    [
      'http: { enabled: false }',
      `state_dir: ${JSON.stringify(path.join(caseDir, 'state'))}`,
      `mqtt: { url: ${JSON.stringify(svc().mosquitto.url)} }`,
      `models: { pump: { path: ${JSON.stringify(path.join(ROOT, 'models', 'pump'))} } }`,
      'defaults: { window: { size: 60, hop: 10 } }',
      'subscriptions:',
      '  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump,',
      '      channels: [vib_x_rms, vib_y_rms, vib_z_rms, motor_current_a, voltage_v, pressure_bar, flow_m3h, temperature_c] }',
    ].join('\n'),
  );
  const expected = /defaults\.window\.size: differs from model 'pump' \(window\.size 30 in .*models\/pump\/manifest\.json\), which subscriptions\[0\] uses; .*\(got 60\)/;
  const validate = cli(['validate', '-c', file], caseDir);
  assert.equal(await exitCode(validate), 1);
  assert.match(validate.log, expected);
  const run = cli(['run', '-c', file], caseDir);
  assert.equal(await exitCode(run), 1, run.log);
  assert.match(run.log, expected);
  assert.match(run.log, /anomalyd could not start/);
});
