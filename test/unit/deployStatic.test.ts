// Static checks of deploy/: what can be verified without Docker, Grafana or a Kubernetes cluster (none exists
// here). Every file is parsed the way its consumer parses it (YAML, JSON, INI-like unit files) and the
// cross-references between files are followed: a compose bind mount whose source is missing, a dashboard panel
// on a datasource uid nobody provisions, a StatefulSet mount without a volume, a grace period shorter than the
// daemon's shutdown deadline all fail here. The real tools (promtool, amtool, Prometheus, InfluxDB, Mosquitto,
// kubectl kustomize, systemd-analyze, anomalyd validate) run in test/integration/deploy*.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/load';

const ROOT = path.resolve(__dirname, '../../..');
const DEPLOY = path.join(ROOT, 'deploy');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  assert.ok(isObj(v), `${what} must be a mapping, got ${JSON.stringify(v)}`);
  return v;
};
const arr = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} must be a list, got ${JSON.stringify(v)}`);
  return v;
};
const str = (v: unknown, what: string): string => {
  assert.equal(typeof v, 'string', `${what} must be a string`);
  return v as string;
};
const read = (rel: string): string => readFileSync(path.join(DEPLOY, rel), 'utf8');
const yamlFile = (rel: string): Obj => obj(parse(read(rel)), rel);

/** "30s", "1m30s", "2m" (compose and systemd durations) in milliseconds. */
function durationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(re)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(m[1]) * unit;
    matched += m[0];
  }
  assert.equal(matched, text.trim(), `unparsable duration '${text}'`);
  return total;
}

/** The daemon's config as anomalyd would load it: schema defaults filled in, so unset keys still count. */
function daemonConfig(rel: string): ReturnType<typeof loadConfigText> {
  // Secret files are read at load time; the unit test only needs the schema, so point them at this file.
  const text = read(rel).replace(/(password_file|secret_file): \S+/g, `$1: ${__filename}`);
  // Loaded as the image runs it: mounted at /etc/anomalyd/config.yaml, with the image's MODELS_DIR.
  return loadConfigText(text, '/etc/anomalyd/config.yaml', { MQTT_URL: 'mqtt://mosquitto:1883', INFLUX_URL: 'http://influxdb:8086/anomalyd', ALERTMANAGER_URL: 'http://alertmanager:9093', ALERT_WEBHOOK_URL: 'https://hooks.example/a', MODELS_DIR: dockerEnv()['MODELS_DIR'] });
}

const k8sConfigOf = (): ReturnType<typeof loadConfigText> => daemonConfig('k8s/config.yaml');

/** The ENV of the Dockerfile's final stage (`ENV A=1 \\ B=2` lines). */
function dockerEnv(): Record<string, string> {
  const text = read('Dockerfile');
  const final = text.slice(text.lastIndexOf('\nFROM ')).replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const m of final.matchAll(/^ENV (.+)$/gm)) for (const kv of m[1].trim().split(/\s+/)) env[kv.split('=')[0]] = kv.slice(kv.indexOf('=') + 1);
  return env;
}

// ------------------------------------------------------------------------------------------------ compose

const compose = yamlFile('compose.yaml');
const services = obj(compose['services'], 'services');
const composeConfig = daemonConfig('anomalyd/config.yaml');

test('compose.yaml runs the whole stack', () => {
  assert.deepEqual(Object.keys(services).sort(), ['alertmanager', 'anomalyd', 'grafana', 'influxdb', 'mosquitto', 'prometheus', 'simulator']);
  assert.match(str(obj(services['influxdb'], 'influxdb')['image'], 'influxdb image'), /^influxdb:1\.8(\.|$)/);
  assert.deepEqual(obj(services['simulator'], 'simulator')['profiles'], ['demo'], 'the simulator only runs with --profile demo');
});

test('compose.yaml: depends_on, volumes and healthchecks reference what exists', () => {
  const declared = new Set(Object.keys(obj(compose['volumes'], 'volumes')));
  const used = new Set<string>();
  for (const [name, raw] of Object.entries(services)) {
    const svc = obj(raw, name);
    const healthcheck = isObj(svc['healthcheck']) ? svc['healthcheck'] : undefined;
    if (name !== 'simulator') {
      assert.ok(healthcheck && healthcheck['disable'] !== true, `${name} has a healthcheck`);
      assert.ok(Array.isArray(healthcheck['test']) && healthcheck['test'][0] === 'CMD', `${name}: healthcheck in exec form (no shell needed)`);
    }
    for (const [dep, cond] of Object.entries(isObj(svc['depends_on']) ? svc['depends_on'] : {})) {
      const target = obj(services[dep], `${name}.depends_on.${dep} (unknown service)`);
      if (obj(cond, `${name}.depends_on.${dep}`)['condition'] === 'service_healthy') {
        const hc = target['healthcheck'];
        assert.ok(isObj(hc) && hc['disable'] !== true, `${name} waits for ${dep} to be healthy, so ${dep} needs a healthcheck`);
      }
    }
    for (const v of Array.isArray(svc['volumes']) ? svc['volumes'] : []) {
      const [source, target] = str(v, `${name} volume`).split(':');
      assert.ok(target?.startsWith('/'), `${name}: volume '${String(v)}' has an absolute target`);
      if (source.startsWith('.')) {
        assert.ok(existsSync(path.resolve(DEPLOY, source)), `${name} mounts ${source}, which does not exist in deploy/`);
      } else {
        assert.ok(declared.has(source), `${name} uses volume '${source}', not declared under volumes:`);
        used.add(source);
      }
    }
    if (isObj(svc['build'])) {
      const context = path.resolve(DEPLOY, str(svc['build']['context'], `${name}.build.context`));
      assert.ok(existsSync(path.join(context, str(svc['build']['dockerfile'], `${name}.build.dockerfile`))), `${name}: Dockerfile exists`);
      assert.ok(existsSync(path.join(context, 'package-lock.json')), `${name}: build context is the repository root`);
    }
    for (const p of Array.isArray(svc['ports']) ? svc['ports'] : []) {
      // Only the broker faces the plant network; dashboards, APIs and the database stay on the host's loopback.
      if (name !== 'mosquitto') assert.match(str(p, `${name} port`), /^127\.0\.0\.1:/, `${name} publishes ${String(p)} on all interfaces`);
    }
  }
  assert.deepEqual([...declared].filter((v) => !used.has(v)), [], 'every declared volume is used');
});

test('compose.yaml: anomalyd is read-only, non-root-friendly, and stops within its grace period', () => {
  const svc = obj(services['anomalyd'], 'anomalyd');
  assert.equal(svc['read_only'], true);
  assert.deepEqual(svc['cap_drop'], ['ALL']);
  assert.ok(typeof svc['hostname'] === 'string', 'a fixed hostname keeps the MQTT client id (and broker session) stable');
  const targets = arr(svc['volumes'], 'anomalyd.volumes').map((v) => str(v, 'volume').split(':')[1]);
  assert.ok(targets.includes(composeConfig.state_dir), `state_dir ${composeConfig.state_dir} is a volume`);
  assert.ok(targets.includes(`${composeConfig.state_dir}/spool`), 'the spool has its own volume');
  assert.ok(targets.includes('/etc/anomalyd/config.yaml'));
  const grace = durationMs(str(svc['stop_grace_period'], 'stop_grace_period'));
  assert.ok(grace > composeConfig.shutdown_grace_ms + 5000, `stop_grace_period ${grace} ms must exceed shutdown_grace_ms ${composeConfig.shutdown_grace_ms} with margin`);
  assert.match(JSON.stringify(obj(svc['healthcheck'], 'hc')['test']), new RegExp(`127\\.0\\.0\\.1:${composeConfig.http.port}/healthz`));
  assert.equal(composeConfig.http.host, '0.0.0.0');
  // Service names, not localhost: inside the compose network the other containers are reached by name.
  const env = obj(svc['environment'], 'environment');
  assert.match(str(env['MQTT_URL'], 'MQTT_URL'), /^mqtt:\/\/mosquitto:1883$/);
  assert.match(str(env['INFLUX_URL'], 'INFLUX_URL'), /^http:\/\/influxdb:8086\/anomalyd$/);
  assert.equal(composeConfig.mqtt.url, 'mqtt://mosquitto:1883');
  assert.equal(composeConfig.mqtt.clean_session, false);
  assert.equal(composeConfig.mqtt.embedded_broker, 'off');
  // The image builds anomalyd's native addon and ships no tfjs-node: automatic selection (native, then wasm).
  assert.equal(composeConfig.inference.backend, 'auto');
  assert.equal(composeConfig.sinks.influx?.url, 'http://influxdb:8086/anomalyd');
  assert.equal(composeConfig.sinks.alertmanager?.url, 'http://alertmanager:9093');
});

test('Prometheus and Grafana point at the compose services', () => {
  const prom = yamlFile('prometheus/prometheus.yml');
  const jobs = arr(prom['scrape_configs'], 'scrape_configs').map((j) => obj(j, 'job'));
  const anomalyd = jobs.find((j) => j['job_name'] === 'anomalyd');
  assert.ok(anomalyd, 'job "anomalyd" (the alert rules select job="anomalyd")');
  const targets = arr(anomalyd['static_configs'], 'static_configs').flatMap((s) => arr(obj(s, 'sc')['targets'], 'targets'));
  assert.deepEqual(targets, [`anomalyd:${composeConfig.http.port}`]);
  const rulesMount = arr(obj(services['prometheus'], 'prometheus')['volumes'], 'volumes').map((v) => String(v));
  assert.ok(rulesMount.some((v) => v.startsWith('./prometheus/rules:/etc/prometheus/rules')), 'rule_files rules/*.yml resolve inside the container');

  const ds = yamlFile('grafana/provisioning/datasources/anomalyd.yaml');
  const urls = Object.fromEntries(arr(ds['datasources'], 'datasources').map((d) => [str(obj(d, 'ds')['type'], 'type'), str(obj(d, 'ds')['url'], 'url')]));
  assert.equal(urls['influxdb'], 'http://influxdb:8086');
  assert.equal(urls['prometheus'], 'http://prometheus:9090');
  assert.equal(urls['alertmanager'], 'http://alertmanager:9093');
  const provider = obj(arr(yamlFile('grafana/provisioning/dashboards/anomalyd.yaml')['providers'], 'providers')[0], 'provider');
  const dashPath = str(obj(provider['options'], 'options')['path'], 'path');
  const grafanaMounts = arr(obj(services['grafana'], 'grafana')['volumes'], 'volumes').map((v) => String(v));
  assert.ok(grafanaMounts.some((v) => v.startsWith(`./grafana/dashboards:${dashPath}`)), `the dashboards are mounted where the provider reads them (${dashPath})`);
});

test('Dockerfile: multi-stage, builds the native addon, downloads nothing at run time, non-root, read-only friendly, healthcheck', () => {
  const text = read('Dockerfile');
  const stages = text.split('\n').filter((l) => /^FROM /.test(l));
  assert.ok(stages.length >= 2, 'multi-stage');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  const build = text.slice(0, text.lastIndexOf('\nFROM '));
  // Compilers (python3, make, g++) are in the full image only; the runtime is slim.
  assert.match(stages[0], /^FROM node:\$\{NODE_VERSION\}-bookworm AS /);
  assert.match(stages.at(-1) ?? '', /-slim AS runtime$/);
  // The release tarball (dist/ by prepack), production dependencies from the lock with install scripts off
  // (tfjs-node's would download libtensorflow), then the addon's build alone.
  assert.match(build, /RUN npm pack\b/);
  assert.match(build, /npm ci --omit=dev --ignore-scripts/);
  assert.match(build, /npm rebuild anomalyd-native/);
  assert.match(build, /rm -rf node_modules\/@tensorflow\/tfjs-node/);
  assert.match(build, /ANOMALYD_BACKEND=native node dist\/main\.js validate -c config\/default\.yaml/, 'the build fails when the addon did not build');
  // The runtime stage only copies and prepares its volumes: no npm, no download.
  for (const m of final.matchAll(/^RUN (.+)$/gm)) assert.match(m[1], /^(mkdir|chown)\b/, `runtime RUN ${m[1]}`);
  assert.doesNotMatch(final.replace(/^#.*$/gm, ''), /\b(npm|curl|wget)\b/);
  // The deploy configs name the bundled model through the image's MODELS_DIR, under the copied /app.
  const env = dockerEnv();
  assert.equal(env['MODELS_DIR'], '/app/models');
  assert.match(final, /^WORKDIR \/app$/m);
  assert.match(final, /^COPY --from=build \/app \.\/$/m);
  assert.equal(composeConfig.models['pump']?.path, '/app/models/pump');
  assert.equal(k8sConfigOf().models['pump']?.path, '/app/models/pump');
  assert.ok(existsSync(path.join(ROOT, 'models', 'pump', 'manifest.json')), 'models/ is in the tarball (package.json files) and so in /app');
  const user = /^USER (\S+)/m.exec(final)?.[1];
  assert.ok(user && /^[1-9]\d*(:\d+)?$/.test(user), `final stage runs as a numeric non-root user (Kubernetes runAsNonRoot needs a number), got ${user}`);
  assert.match(final, /^HEALTHCHECK .*\n?.*\/healthz/m);
  assert.match(final, /^VOLUME .*\/var\/lib\/anomalyd/m);
  // Everything COPY takes from the context exists and is not excluded by the Dockerfile's own .dockerignore.
  const ignore = read('Dockerfile.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
    const parts = m[1].split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(path.join(ROOT, src)), `COPY ${src}: missing in the build context`);
      const top = src.split('/')[0];
      const excluded = ignore.includes(top) || (ignore.includes(`${top}/**`) && !ignore.includes(`!${src}`));
      assert.ok(!excluded, `COPY ${src} is excluded by Dockerfile.dockerignore`);
    }
  }
});

test('mosquitto.conf keeps QoS 1 data: large queues, persistence with a short autosave', () => {
  const text = read('mosquitto/mosquitto.conf');
  const conf = new Map(text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).map((l) => {
    const [k, ...rest] = l.trim().split(/\s+/);
    return [k, rest.join(' ')] as const;
  }));
  const queued = Number(conf.get('max_queued_messages'));
  assert.ok(queued === 0 || queued >= 100_000, `max_queued_messages ${queued}: the default 1000 silently drops QoS 1 messages`);
  assert.ok(Number(conf.get('max_inflight_messages')) > 20, 'max_inflight_messages above the default 20');
  assert.equal(conf.get('persistence'), 'true');
  assert.ok(Number(conf.get('autosave_interval')) <= 30, 'short autosave interval');
  const dataMount = arr(obj(services['mosquitto'], 'mosquitto')['volumes'], 'v').map((v) => String(v).split(':')[1]);
  assert.ok(dataMount.includes(str(conf.get('persistence_location'), 'persistence_location').replace(/\/$/, '')), 'persistence lands on the volume');
  assert.match(text, /silently|drop/i, 'the comment says why');
  assert.match(text, /1,?000/);
});

// ------------------------------------------------------------------------------------------------ Grafana

interface Panel extends Obj {
  id?: number;
  type?: string;
  title?: string;
  panels?: Panel[];
}
function allPanels(dash: Obj): Panel[] {
  const out: Panel[] = [];
  const walk = (list: unknown): void => {
    for (const p of Array.isArray(list) ? (list as Panel[]) : []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dash['panels']);
  return out;
}
const provisioned = new Map(
  arr(yamlFile('grafana/provisioning/datasources/anomalyd.yaml')['datasources'], 'datasources').map((d) => [str(obj(d, 'ds')['uid'], 'uid'), str(obj(d, 'ds')['type'], 'type')]),
);
const dashboardsDir = path.join(DEPLOY, 'grafana/dashboards');
const dashboards = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, json: obj(JSON.parse(readFileSync(path.join(dashboardsDir, f), 'utf8')), f) }));
// Grafana's own variables and macros, and InfluxDB alias patterns ($tag_<key>, $col).
const BUILTIN = /^(__\w+|timeFilter|interval|interval_ms|range|tag_\w+|col|m|measurement)$/;

test('three dashboards: Fleet, Asset, Daemon health', () => {
  assert.deepEqual(dashboards.map((d) => d.file).sort(), ['asset.json', 'daemon-health.json', 'fleet.json']);
  const uids = dashboards.map((d) => str(d.json['uid'], 'uid'));
  assert.equal(new Set(uids).size, uids.length, 'unique dashboard uids');
});

for (const { file, json } of dashboards) {
  test(`${file}: structure Grafana's provisioning accepts`, () => {
    assert.ok(typeof json['schemaVersion'] === 'number' && json['schemaVersion'] >= 36, 'schemaVersion');
    assert.ok(typeof json['title'] === 'string' && json['title'].length > 0);
    assert.equal(json['id'], undefined, 'no numeric id: provisioning assigns one, a fixed id collides across instances');
    const panels = allPanels(json);
    assert.ok(panels.length >= 5, 'has panels');
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id)), 'every panel has an integer id');
    assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids.join(',')}`);
    const variables = new Set(arr(obj(json['templating'], 'templating')['list'], 'templating.list').map((v) => str(obj(v, 'var')['name'], 'var name')));
    const texts: string[] = [];
    const checkDs = (ds: unknown, where: string): void => {
      const ref = obj(ds, `${where} datasource`);
      const uid = str(ref['uid'], `${where} datasource uid`);
      assert.equal(provisioned.get(uid), ref['type'], `${where}: datasource ${uid} (${String(ref['type'])}) is provisioned`);
    };
    for (const p of panels) {
      const where = `${file} panel ${p.id} '${p.title}'`;
      assert.ok(isObj(p['gridPos']), `${where}: gridPos`);
      const g = obj(p['gridPos'], 'gridPos');
      assert.ok(Number(g['x']) + Number(g['w']) <= 24, `${where}: fits the 24-column grid`);
      if (p.type === 'row') continue;
      checkDs(p['datasource'], where);
      const targets = arr(p['targets'], `${where} targets`);
      assert.ok(targets.length > 0, `${where}: has queries`);
      const refIds = targets.map((t) => obj(t, 'target')['refId']);
      assert.equal(new Set(refIds).size, refIds.length, `${where}: unique refIds`);
      for (const t of targets.map((x) => obj(x, 'target'))) {
        checkDs(t['datasource'] ?? p['datasource'], where);
        const type = obj(t['datasource'] ?? p['datasource'], 'ds')['type'];
        if (type === 'influxdb') {
          // Builder-mode queries are stored as structures the tests could not run; raw InfluxQL is what is tested.
          assert.equal(t['rawQuery'], true, `${where}: raw InfluxQL`);
          texts.push(str(t['query'], `${where} query`));
        } else {
          texts.push(str(t['expr'], `${where} expr`));
        }
      }
    }
    const annotations = arr(obj(json['annotations'], 'annotations')['list'], 'annotations.list').map((a) => obj(a, 'annotation'));
    for (const a of annotations.filter((x) => x['builtIn'] !== 1)) {
      checkDs(a['datasource'], `${file} annotation ${String(a['name'])}`);
      texts.push(str(a['query'], 'annotation query'));
    }
    for (const v of arr(obj(json['templating'], 'templating')['list'], 'list').map((x) => obj(x, 'var'))) {
      checkDs(v['datasource'], `${file} variable ${String(v['name'])}`);
      texts.push(typeof v['query'] === 'string' ? v['query'] : str(obj(v['query'], 'query')['query'], 'variable query'));
    }
    for (const text of texts) {
      for (const m of text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
        const name = m[1] ?? m[2] ?? m[3];
        assert.ok(variables.has(name) || BUILTIN.test(name), `${file}: '$${name}' in "${text}" is not a template variable`);
      }
    }
  });
}

const dashText = (file: string): string => JSON.stringify(dashboards.find((d) => d.file === file)?.json);

test('dashboards cover what operators look for', () => {
  const fleet = dashText('fleet.json');
  for (const needle of ['line:anomalyd_assets_anomalous:ratio', 'anomalyd_alerts_firing', 'anomaly_alert', 'stream:anomalyd_score_over_threshold:ratio', 'topk(']) {
    assert.ok(fleet.includes(needle), `Fleet uses ${needle}`);
  }
  const asset = dashText('asset.json');
  for (const needle of ['/^share_/', 'mean(\\"threshold\\")', 'anomaly_alert', 'p_value', 'completeness']) {
    assert.ok(asset.includes(needle), `Asset uses ${needle}`);
  }
  const health = dashText('daemon-health.json');
  for (const metric of [
    'anomalyd_messages_received_total', 'anomalyd_messages_rejected_total', 'anomalyd_queue_depth', 'anomalyd_queue_dropped_total',
    'anomalyd_inference_seconds_bucket', 'anomalyd_sink_buffered_points', 'anomalyd_sink_spool_bytes', 'anomalyd_sink_points_dropped_total',
    'anomalyd_model_info', 'anomalyd_model_load_failures_total', 'anomalyd_webhook_deliveries_total', 'anomalyd_mqtt_connected',
    'anomalyd_sink_connected', 'anomalyd_sink_points_superseded_total',
  ]) {
    assert.ok(health.includes(metric), `Daemon health uses ${metric}`);
  }
  assert.match(health, /backend/);
});

// ------------------------------------------------------------------------------------------------ Kubernetes

const k8sDocs = new Map<string, Obj[]>();
const kustomization = yamlFile('k8s/kustomization.yaml');
for (const f of readdirSync(path.join(DEPLOY, 'k8s')).filter((x) => /\.ya?ml$/.test(x))) {
  const docs = parseAllDocuments(read(`k8s/${f}`));
  for (const d of docs) assert.deepEqual(d.errors, [], `k8s/${f} parses`);
  k8sDocs.set(f, docs.map((d) => d.toJS() as unknown).filter(isObj));
}
const manifests = arr(kustomization['resources'], 'resources').flatMap((r) => k8sDocs.get(str(r, 'resource')) ?? []);
const byKind = (kind: string): Obj[] => manifests.filter((m) => m['kind'] === kind);
const k8sConfig = k8sConfigOf();

test('kustomization.yaml: every resource and generated file exists', () => {
  for (const r of arr(kustomization['resources'], 'resources')) {
    assert.ok(statSync(path.join(DEPLOY, 'k8s', str(r, 'resource'))).isFile(), `resource ${String(r)}`);
  }
  for (const g of arr(kustomization['configMapGenerator'], 'configMapGenerator')) {
    for (const f of arr(obj(g, 'generator')['files'], 'files')) assert.ok(existsSync(path.join(DEPLOY, 'k8s', str(f, 'file'))), `generator file ${String(f)}`);
  }
  for (const m of manifests) {
    assert.ok(typeof m['apiVersion'] === 'string' && typeof m['kind'] === 'string', 'apiVersion and kind');
    assert.ok(typeof obj(m['metadata'], 'metadata')['name'] === 'string', 'metadata.name');
  }
  assert.deepEqual(manifests.map((m) => m['kind']).sort(), ['PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount', 'StatefulSet']);
});

test('StatefulSet: shard index, probes, hardening, volumes, grace period', () => {
  const [sts] = byKind('StatefulSet');
  const spec = obj(sts['spec'], 'spec');
  const pod = obj(obj(spec['template'], 'template')['spec'], 'pod spec');
  const containers = arr(pod['containers'], 'containers').map((c) => obj(c, 'container'));
  assert.equal(containers.length, 1);
  const c = containers[0];

  // Ordinal = shard index, from the pod itself.
  const env = arr(c['env'], 'env').map((e) => obj(e, 'env'));
  const shard = env.find((e) => e['name'] === 'ANOMALYD_SHARD_INDEX');
  assert.ok(shard, 'ANOMALYD_SHARD_INDEX is set');
  assert.match(JSON.stringify(shard['valueFrom']), /pod-index|metadata\.name/);
  // Every stream is scored by exactly one pod only when the shard count is the number of pods.
  const shardCount = env.find((e) => e['name'] === 'ANOMALYD_SHARD_COUNT');
  assert.equal(Number(shardCount?.['value']), spec['replicas'], 'ANOMALYD_SHARD_COUNT equals spec.replicas');
  assert.deepEqual({ ...k8sConfig.shard }, { index: 'hostname', count: 1 }, 'config.yaml takes the shard from the StatefulSet (here: no pod-index label, no count set)');
  for (const m of read('k8s/config.yaml').matchAll(/\$\{(\w+)/g)) {
    const set = env.some((e) => e['name'] === m[1]) || Object.hasOwn(dockerEnv(), m[1]);
    if (m[1] !== 'ANOMALYD_SHARD_INDEX') assert.ok(set, `config.yaml uses \${${m[1]}}, which the StatefulSet or the image sets`);
  }

  const probePath = (p: string): string => str(obj(obj(c[p], p)['httpGet'], `${p}.httpGet`)['path'], `${p} path`);
  assert.equal(probePath('livenessProbe'), '/healthz');
  assert.equal(probePath('readinessProbe'), '/readyz');
  const ports = arr(c['ports'], 'ports').map((p) => obj(p, 'port'));
  assert.equal(ports[0]['containerPort'], k8sConfig.http.port);
  assert.equal(k8sConfig.http.host, '0.0.0.0');

  const psc = obj(pod['securityContext'], 'pod securityContext');
  assert.equal(psc['runAsNonRoot'], true);
  assert.equal(obj(psc['seccompProfile'], 'seccompProfile')['type'], 'RuntimeDefault');
  const csc = obj(c['securityContext'], 'container securityContext');
  assert.equal(csc['allowPrivilegeEscalation'], false);
  assert.equal(csc['readOnlyRootFilesystem'], true);
  assert.deepEqual(obj(csc['capabilities'], 'capabilities')['drop'], ['ALL']);
  const resources = obj(c['resources'], 'resources');
  assert.ok(isObj(resources['requests']) && isObj(resources['limits']), 'requests and limits');

  const grace = Number(pod['terminationGracePeriodSeconds']) * 1000;
  assert.ok(grace > k8sConfig.shutdown_grace_ms + 5000, `terminationGracePeriodSeconds (${grace} ms) above shutdown_grace_ms (${k8sConfig.shutdown_grace_ms}) with margin`);

  // Every mount has a volume or a claim template; state and spool are claims; the config map is the generated one.
  const claims = arr(spec['volumeClaimTemplates'], 'volumeClaimTemplates').map((v) => str(obj(obj(v, 'vct')['metadata'], 'md')['name'], 'claim name'));
  const volumes = new Map(arr(pod['volumes'], 'volumes').map((v) => [str(obj(v, 'volume')['name'], 'volume name'), obj(v, 'volume')]));
  const mounts = new Map(arr(c['volumeMounts'], 'volumeMounts').map((m) => [str(obj(m, 'mount')['mountPath'], 'mountPath'), str(obj(m, 'mount')['name'], 'name')]));
  for (const [mountPath, name] of mounts) assert.ok(claims.includes(name) || volumes.has(name), `mount ${mountPath} -> ${name} has a volume`);
  assert.ok(claims.includes(str(mounts.get(k8sConfig.state_dir), 'state mount')), 'state_dir is a persistent claim');
  assert.ok(claims.includes(str(mounts.get(`${k8sConfig.state_dir}/spool`), 'spool mount')), 'the spool is a persistent claim');
  const generated = str(obj(arr(kustomization['configMapGenerator'], 'g')[0], 'g')['name'], 'generator name');
  assert.equal(obj(volumes.get(str(mounts.get('/etc/anomalyd'), 'config mount'))?.['configMap'], 'configMap')['name'], generated);
  // Secrets arrive as files where config.yaml's *_file keys look.
  const secretMount = [...mounts].find(([, n]) => isObj(volumes.get(n)?.['secret']));
  assert.ok(secretMount, 'a Secret is mounted');
  const fileRefs = [...read('k8s/config.yaml').matchAll(/(?:password_file|secret_file): (\S+)/g)].map((m) => m[1]);
  assert.ok(fileRefs.length >= 2, 'webhook secret and influx password come from files');
  for (const f of fileRefs) assert.ok(f.startsWith(`${secretMount[0]}/`), `${f} is inside the Secret mount ${secretMount[0]}`);
  const tmpMount = mounts.get('/tmp');
  assert.ok(tmpMount && isObj(volumes.get(tmpMount)?.['emptyDir']), 'a writable /tmp beside the read-only root');

  // The headless Service the StatefulSet names, and Services/PDB that select its pods.
  const podLabels = obj(obj(obj(spec['template'], 't')['metadata'], 'md')['labels'], 'labels');
  const headless = byKind('Service').find((s) => obj(s['metadata'], 'md')['name'] === spec['serviceName']);
  assert.ok(headless, `serviceName ${String(spec['serviceName'])} exists`);
  assert.equal(obj(headless['spec'], 'spec')['clusterIP'], 'None');
  const selects = (sel: Obj): boolean => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  for (const svc of byKind('Service')) assert.ok(selects(obj(obj(svc['spec'], 'spec')['selector'], 'selector')), 'Service selects the pods');
  assert.ok(selects(obj(obj(spec['selector'], 'selector')['matchLabels'], 'matchLabels')));
  const [pdb] = byKind('PodDisruptionBudget');
  assert.ok(selects(obj(obj(obj(pdb['spec'], 'spec')['selector'], 'sel')['matchLabels'], 'ml')), 'PDB selects the pods');
  const sa = byKind('ServiceAccount')[0];
  assert.equal(pod['serviceAccountName'], obj(sa['metadata'], 'md')['name']);
});

// ------------------------------------------------------------------------------------------------ systemd

test('systemd unit: hardened, restarts on failure, stops after the daemon grace period', () => {
  const text = read('systemd/anomalyd.service');
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(l);
    if (sec) {
      current = new Map();
      sections.set(sec[1], current);
      continue;
    }
    const eq = l.indexOf('=');
    assert.ok(current && eq > 0, `unit line outside a section or without '=': ${l}`);
    const key = l.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), l.slice(eq + 1)]);
  }
  const svc = sections.get('Service');
  assert.ok(svc && sections.has('Unit') && sections.has('Install'));
  const one = (k: string): string | undefined => svc.get(k)?.at(-1);
  assert.ok(one('DynamicUser') === 'yes' || (one('User') ?? '') !== '', 'DynamicUser or a dedicated user');
  const expected: Record<string, string> = {
    StateDirectory: 'anomalyd', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', NoNewPrivileges: 'yes',
    Restart: 'on-failure', SystemCallFilter: '@system-service', ExecReload: '/bin/kill -HUP $MAINPID',
  };
  for (const [k, v] of Object.entries(expected)) assert.equal(svc.get(k)?.[0], v, k);
  assert.match(one('RestrictAddressFamilies') ?? '', /AF_INET/);
  assert.notEqual(one('MemoryDenyWriteExecute'), 'yes', "V8's JIT needs W+X memory");
  assert.match(one('ExecStart') ?? '', / run -c \/etc\/anomalyd\/config\.yaml$/);
  // The unit does not know which config it gets: stop timeout above the schema default and then some.
  const defaults = loadConfigText('{}', 'defaults.yaml', {});
  const stop = durationMs(one('TimeoutStopSec') ?? '');
  assert.ok(stop >= defaults.shutdown_grace_ms * 2, `TimeoutStopSec ${stop} ms vs default shutdown_grace_ms ${defaults.shutdown_grace_ms}`);

  // deploy/systemd/config.yaml as the unit runs it: copied to /etc/anomalyd, the unit's environment, the package
  // where deploy/README's `npm install --prefix /opt/anomalyd` puts it.
  const env = Object.fromEntries((svc.get('Environment') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const pkg = '/opt/anomalyd/node_modules/anomalyd';
  assert.equal(one('ExecStart'), `/usr/bin/node ${pkg}/dist/main.js run -c /etc/anomalyd/config.yaml`);
  assert.equal(one('ExecStartPre'), `/usr/bin/node ${pkg}/dist/main.js validate -c /etc/anomalyd/config.yaml`);
  assert.equal(env['MODELS_DIR'], `${pkg}/models`);
  assert.equal(env['STATE_DIR'], `/var/lib/${one('StateDirectory') ?? ''}`);
  const hostConfig = loadConfigText(read('systemd/config.yaml'), '/etc/anomalyd/config.yaml', env);
  assert.equal(hostConfig.models['pump']?.path, `${pkg}/models/pump`);
  assert.equal(hostConfig.state_dir, env['STATE_DIR']);
  assert.ok(stop > hostConfig.shutdown_grace_ms + 5000, 'TimeoutStopSec above the config grace period with margin');
});
