// Every query of the Grafana dashboards in deploy/grafana/dashboards runs against the real services and
// returns data:
//  - InfluxQL (panels, annotations, template variables) against a real InfluxDB 1.x holding points built by
//    anomalyd's own point functions (src/sinks/influx/points.ts), so the schema cannot drift from the dashboards;
//  - PromQL against a real Prometheus that scrapes anomalyd metrics text produced by the daemon's own registry
//    (createMetrics) with the deploy scrape config and the deploy recording/alert rules loaded.
// Grafana is not installable here, so its macros and template variables are substituted the way Grafana does
// (regex-escaped multi-value variables, the All value, $timeFilter, $__interval, $__rate_interval, $__range).
// A query that InfluxDB or Prometheus rejects, or that finds nothing where data exists (a misspelt metric,
// measurement, field or label), fails the test.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { AlertNotice } from '../../src/core/alert';
import { healthPoint } from '../../src/app/health';
import { alertRecord, eventRecord, expectedRecord, healthRecord, scoreRecord, type InfluxRecord } from '../../src/sinks/influx/points';
import { systemClock } from '../../src/core/clock';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics';
import { createOpcuaTelemetry } from '../../src/telemetry/opcuaTelemetry';
import { StatusModel } from '../../src/telemetry/status';
import { testContext } from '../helpers/context';
import { Influxd } from '../helpers/influxd';
import { notice as alertNotice } from '../helpers/notices';
import { startPrometheus, type PrometheusProcess, type PromSample } from '../helpers/prometheus';

const DEPLOY = path.resolve(__dirname, '../../../deploy');
const DB = 'anomalyd';
const CHANNELS = ['vib_x_rms', 'vib_y_rms', 'vib_z_rms', 'motor_current_a', 'voltage_v', 'pressure_bar', 'flow_m3h', 'temperature_c'];
const STREAMS = ['line1/pump1', 'line1/pump2', 'line2/pump1'];

// ------------------------------------------------------------------------------------------- dashboards

type Obj = Record<string, unknown>;
interface Query {
  readonly where: string;
  readonly kind: 'influxdb' | 'prometheus';
  readonly text: string;
  /** Template variable queries use Grafana functions (label_values) rather than plain PromQL. */
  readonly variable: boolean;
}
interface Variable {
  readonly name: string;
  readonly multi: boolean;
  readonly allValue: string | null;
}
interface Dashboard {
  readonly file: string;
  readonly queries: Query[];
  readonly variables: Variable[];
}

function loadDashboards(): Dashboard[] {
  const dir = path.join(DEPLOY, 'grafana/dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Obj;
      const queries: Query[] = [];
      const dsType = (ds: unknown): 'influxdb' | 'prometheus' => {
        const type = (ds as { type?: string } | undefined)?.type;
        assert.ok(type === 'influxdb' || type === 'prometheus', `${file}: unexpected datasource ${JSON.stringify(ds)}`);
        return type;
      };
      const walk = (panels: unknown): void => {
        for (const p of (panels as Obj[] | undefined) ?? []) {
          for (const t of (p['targets'] as Obj[] | undefined) ?? []) {
            const kind = dsType(t['datasource'] ?? p['datasource']);
            const text = kind === 'influxdb' ? t['query'] : t['expr'];
            queries.push({ where: `${file} '${String(p['title'])}' ${String(t['refId'])}`, kind, text: String(text), variable: false });
          }
          walk(p['panels']);
        }
      };
      walk(json['panels']);
      for (const a of ((json['annotations'] as Obj)['list'] as Obj[]).filter((x) => x['builtIn'] !== 1)) {
        queries.push({ where: `${file} annotation '${String(a['name'])}'`, kind: dsType(a['datasource']), text: String(a['query']), variable: false });
      }
      const variables: Variable[] = [];
      for (const v of (json['templating'] as Obj)['list'] as Obj[]) {
        const q = v['query'];
        const text = typeof q === 'string' ? q : String((q as Obj)['query']);
        queries.push({ where: `${file} variable $${String(v['name'])}`, kind: dsType(v['datasource']), text, variable: true });
        variables.push({ name: String(v['name']), multi: v['multi'] === true || v['includeAll'] === true, allValue: (v['allValue'] as string | null | undefined) ?? null });
      }
      return { file, queries, variables };
    });
}

/** Grafana's escaping of one value of a multi-value/All variable inside a regex matcher. */
const influxRegexEscape = (v: string): string => v.replace(/[\\^$*+?.()|{}[\]/]/g, '\\$&');
// PromQL regexes live in double-quoted strings, so the backslash itself is doubled.
const promRegexEscape = (v: string): string => v.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&');

/**
 * Substitutes Grafana variables: `selected` gives each variable's values (['$__all'] = the All option).
 * Multi-value variables become (a|b) of escaped values, as Grafana formats them for regex matchers.
 */
function interpolate(q: Query, vars: Variable[], selected: Record<string, string[]>, range: { from: number; to: number }): string {
  let text = q.text;
  if (q.kind === 'influxdb') {
    text = text.replaceAll('$timeFilter', `time >= ${range.from}ms and time <= ${range.to}ms`).replaceAll('$__interval', '1m');
  } else {
    // $__rate_interval is max(4 x scrape interval, $__interval + scrape interval); 1m covers the test's 1 s scrapes.
    text = text.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$__interval', '15s');
  }
  for (const v of vars) {
    const values = selected[v.name];
    if (!values) continue;
    let value: string;
    if (values[0] === '$__all' && v.allValue !== null) value = v.allValue;
    else if (v.multi) {
      const esc = values.map(q.kind === 'influxdb' ? influxRegexEscape : promRegexEscape);
      value = esc.length === 1 ? esc[0] : `(${esc.join('|')})`;
    } else value = values[0];
    text = text.replace(new RegExp(`\\$\\{${v.name}(?::\\w+)?\\}|\\$${v.name}\\b|\\[\\[${v.name}\\]\\]`, 'g'), () => value);
  }
  // Anything left that looks like a variable would reach the server verbatim in Grafana too.
  assert.doesNotMatch(text, /\$(?!\/)[A-Za-z_{]/, `${q.where}: unresolved variable in ${text}`);
  return text;
}

// ------------------------------------------------------------------------------------------- InfluxDB data

/** InfluxDB line protocol of a record (what the influx client sends for the sink's IPoint). */
function lineProtocol(r: InfluxRecord): string {
  const escKey = (s: string): string => s.replace(/([,= \\])/g, '\\$1');
  const tags = Object.entries(r.tags).map(([k, v]) => `,${escKey(k)}=${escKey(v)}`).join('');
  const fields = Object.entries(r.fields)
    .map(([k, v]) => `${escKey(k)}=${typeof v === 'string' ? `"${v.replace(/(["\\])/g, '\\$1')}"` : String(v)}`)
    .join(',');
  return `${r.measurement.replace(/([, \\])/g, '\\$1')}${tags} ${fields} ${r.time}`;
}

function notice(stream: string, over: Partial<AlertNotice>): AlertNotice {
  const [line, asset] = stream.split('/');
  return alertNotice({
    fingerprint: `fp-${stream}`, stream, severity: 'warning', startsAt: 0, score: 0.05, threshold: 0.01, pValue: 1e-4,
    topChannels: [
      { channel: 'vib_x_rms', share: 0.61, reading: { observed: 3.1, expected: 1.2, trainingMin: 0.74, trainingMax: 2.18 } },
      { channel: 'temperature_c', share: 0.22, reading: { observed: 41, expected: 38.5, trainingMin: 25.7, trainingMax: 42 } },
    ],
    sequence: 1, labels: { line, asset }, ...over,
  });
}

/** 50 minutes of windows every 10 s for three pumps, line1/pump2 anomalous for the last 10 minutes. */
function samplePoints(now: number): string {
  const records: InfluxRecord[] = [];
  const start = now - 50 * 60_000;
  for (const [i, stream] of STREAMS.entries()) {
    for (let t = start, k = 0; t <= now; t += 10_000, k++) {
      const anomalous = stream === 'line1/pump2' && t > now - 10 * 60_000;
      const shares: Record<string, number> = {};
      CHANNELS.forEach((c, j) => (shares[c] = anomalous && j === 0 ? 0.65 : (anomalous ? 0.05 : 0.125)));
      // Scores carry the version that scored them: line1/pump2's model was promoted to v2 20 minutes ago, so its
      // series changes there (the panels select by stream and read across versions).
      const modelVersion = stream === 'line1/pump2' && t > now - 20 * 60_000 ? 'v2' : 'v1';
      const point = {
        stream, model: 'pump', modelVersion, time: t, score: anomalous ? 0.05 : 0.004 + 0.001 * Math.sin(k + i),
        threshold: 0.012, pValue: anomalous ? 1e-7 : 0.3, anomalous, completeness: 1, channelShares: shares,
      };
      records.push(scoreRecord(point));
      // What the model expected beside it (anomaly_expected): vib_x_rms reads 1.2 against 1.2 until the fault, then 3.1.
      const expected: Record<string, number> = {};
      const observed: Record<string, number> = {};
      const tolerance: Record<string, number> = {};
      CHANNELS.forEach((c, j) => {
        expected[c] = 1.2 + j;
        observed[c] = anomalous && j === 0 ? 3.1 : 1.2 + j + 0.01 * Math.sin(k);
        tolerance[c] = 0.4;
      });
      const e = expectedRecord({ ...point, expected, observed, tolerance });
      if (e) records.push(e);
    }
  }
  // line1/pump1: an alert that fired and resolved; line1/pump2: firing as warning, escalated to critical (the
  // escalation is stamped with the same start time, under the other severity tag).
  records.push(alertRecord(notice('line1/pump1', { startsAt: now - 40 * 60_000, sequence: 1 })));
  records.push(alertRecord(notice('line1/pump1', { status: 'resolved', startsAt: now - 40 * 60_000, endsAt: now - 30 * 60_000, sequence: 2 })));
  records.push(alertRecord(notice('line1/pump2', { startsAt: now - 8 * 60_000, sequence: 3 })));
  records.push(alertRecord(notice('line1/pump2', { startsAt: now - 8 * 60_000, severity: 'critical', pValue: 1e-7, sequence: 4 })));
  // A maintenance window of line 1, opened 20 minutes ago for an hour (the asset and fleet annotations).
  const opened = eventRecord({ kind: 'maintenance', time: now - 20 * 60_000, tags: { window: 'valve-swap' }, fields: { state: 'open', end: now + 40 * 60_000, reason: 'valve 3 replaced', origin: 'api', streams: 'line1/*', labels: '' } });
  if (opened) records.push(opened);
  // Operating modes (the asset dashboard's mode timeline and annotations): each pump normal, then high, off, normal.
  for (const stream of STREAMS) {
    const changes: [number, string, string | null][] = [[50, 'normal', null], [30, 'high', 'normal'], [15, 'off', 'high'], [5, 'normal', 'off']];
    for (const [ago, mode, previous] of changes) {
      const r = eventRecord({ kind: 'mode', time: now - ago * 60_000, tags: { stream }, fields: previous === null ? { mode } : { mode, previous } });
      if (r) records.push(r);
    }
  }
  // Two replicas (shards 0 and 1 of 2), each writing its health every 10 s at its own instants.
    const ingestion = { messagesTotal: 1000, messagesPerSecond: 12.5, rejectedTotal: 1, mqttConnected: true };
  for (let t = start; t <= now; t += 10_000) {
    for (const index of [0, 1]) {
      const h = healthRecord(healthPoint(t + index * 3_000, { count: 2, index: String(index) }, ingestion, { streams: 3 + index, queueDepth: 2, rssBytes: 2e8 }));
      if (h) records.push(h);
    }
  }
  return records.map(lineProtocol).join('\n');
}

// ------------------------------------------------------------------------------------------- metrics

/** anomalyd's registry with every contract metric populated, kept moving so rate() has something to see. */
function driveMetrics(): { metrics: Metrics; timer: NodeJS.Timeout } {
  const metrics = createMetrics({ maxStreamLabels: 10, version: 'test' });
  const scores: Record<string, number> = { 'line1/pump1': 0.004, 'line1/pump2': 0.05, 'line2/pump1': 0.006 };
  for (const [stream, score] of Object.entries(scores)) {
    metrics.streamScore.set({ stream: metrics.streamLabel(stream) }, score);
    metrics.streamThreshold.set({ stream: metrics.streamLabel(stream) }, 0.012);
  }
  metrics.modelInfo.set({ model: 'pump', version: '2025-01-01T00:00:00.000Z', backend: 'tensorflow' }, 1);
  metrics.modelLoadFailures.inc({ model: 'pump' });
  metrics.provide('queue_depth', () => [{ labels: { queue: 'pump' }, value: 3 }]);
  metrics.provide('alerts_firing', () => 1);
  metrics.provide('mqtt_connected', () => 1);
  metrics.provide('streams_active', () => 3);
  metrics.provideSink('influx', () => ({ buffered: 120, spooledBytes: 4096 }));
  metrics.provideSink('webhook.maintenance', () => ({ buffered: 0, spooledBytes: 512 }));
  metrics.provideSink('mqtt_out', () => ({ buffered: 2, spooledBytes: 300, connected: true }));
  // The OPC UA input's metrics, as a daemon with an opcua section registers them.
  const opcua = createOpcuaTelemetry(testContext('source.opcua').ctx.log, metrics.registry, new StatusModel(systemClock), systemClock);
  const plcNode = { node: 'ns=1;s=Pump1.flow_m3h', stream: 'line1/pump1', channel: 'flow_m3h' };
  opcua.connection(true, 'connected');
  opcua.itemsMonitored(8, 0);
  const tick = (): void => {
    metrics.messagesReceived.inc(10);
    metrics.samples.inc(80);
    metrics.windowsScored.inc(3);
    metrics.windowsInsufficient.inc(1);
    metrics.anomalousWindows.inc(1);
    metrics.messagesRejected.inc({ reason: 'invalid_json' });
    metrics.inferenceSeconds.observe(0.002);
    metrics.inferenceBatchSize.observe(3);
    metrics.alerts.inc({ state: 'firing' });
    metrics.queueDropped.inc({ queue: 'pump' });
    metrics.sinkWritten.inc({ sink: 'influx' }, 30);
    metrics.sinkDropped.inc({ sink: 'influx', reason: 'spool_full' });
    metrics.webhookDeliveries.inc({ result: 'success' });
    metrics.sinkWritten.inc({ sink: 'mqtt_out' }, 6);
    metrics.sinkSuperseded.inc({ sink: 'mqtt_out' }, 2);
    metrics.sinkDropped.inc({ sink: 'mqtt_out', reason: 'rejected' });
    metrics.sinkErrors.inc({ sink: 'mqtt_out', kind: 'retryable' });
    opcua.badValue(plcNode, 'bad', 'BadSensorFailure');
    opcua.queueOverflow(plcNode);
    opcua.subscriptionRecreated(plcNode.stream);
    // The Sparkplug B input's (decoder sparkplug_b).
    metrics.sparkplug.messages.inc({ type: 'DDATA' }, 5);
    metrics.sparkplug.sequenceGaps.inc();
    metrics.sparkplug.rebirths.inc({ result: 'sent' });
    metrics.sparkplug.liveness.inc({ state: 'offline' });
    metrics.messagesRejected.inc({ reason: 'unknown_alias' });
  };
  tick();
  const timer = setInterval(tick, 100);
  return { metrics, timer };
}

// ------------------------------------------------------------------------------------------- lifecycle

const dashboards = loadDashboards();
const now = Date.now();
const range = { from: now - 60 * 60_000, to: now + 60_000 };
let influx: Influxd;
let prom: PrometheusProcess;
let exporter: Server;
let driven: { metrics: Metrics; timer: NodeJS.Timeout };
let target = '';

before(async () => {
  influx = await Influxd.start();
  await influx.query(`CREATE DATABASE ${DB}`);
  const written = await influx.writeLines(DB, samplePoints(now));
  assert.equal(written.status, 204, written.body);

  driven = driveMetrics();
  exporter = createServer((req, res) => {
    void driven.metrics.text().then((body) => res.writeHead(200, { 'Content-Type': driven.metrics.contentType }).end(body));
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  target = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;

  // The deploy scrape config and rules, with the target pointed at the exporter and everything sped up.
  const config = parse(readFileSync(path.join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    alerting?: unknown;
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  config.global['scrape_interval'] = '1s';
  config.global['scrape_timeout'] = '1s';
  config.global['evaluation_interval'] = '1s';
  config.rule_files = config.rule_files.map((f) => path.join(DEPLOY, 'prometheus', f));
  delete config.alerting; // no Alertmanager here; alert rules are still evaluated
  const job = config.scrape_configs.find((j) => j.job_name === 'anomalyd');
  assert.ok(job, 'deploy prometheus.yml has job anomalyd');
  job.static_configs = [{ targets: [target] }];
  config.scrape_configs = [job];
  prom = await startPrometheus(stringify(config));

  // Rates need two scrapes and recording rules one evaluation after them.
  const deadline = Date.now() + 45_000;
  for (;;) {
    const ready = await Promise.all(
      ['instance:anomalyd_anomalous_windows:ratio_rate5m', 'line:anomalyd_assets_anomalous:ratio', 'rate(anomalyd_inference_seconds_bucket[1m])'].map(async (e) => {
        const a = await prom.query(e);
        return a.status === 'success' && Array.isArray(a.data?.result) && a.data.result.length > 0;
      }),
    );
    if (ready.every(Boolean)) break;
    assert.ok(Date.now() < deadline, `Prometheus did not produce rule results within 45 s:\n${prom.log()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  clearInterval(driven?.timer);
  exporter?.close();
  await prom?.stop();
  await influx?.stop();
});

// ------------------------------------------------------------------------------------------- tests

/** Selections each query is run with: the All option, and one concrete value per variable. */
function selections(dash: Dashboard): Record<string, string[]>[] {
  const all: Record<string, string[]> = {};
  const one: Record<string, string[]> = {};
  const two: Record<string, string[]> = {};
  for (const v of dash.variables) {
    const values = v.name === 'line' ? ['line1', 'line2'] : v.name === 'stream' ? ['line1/pump2'] : v.name === 'instance' ? [target] : v.name === 'channel' ? ['vib_x_rms'] : [];
    assert.ok(values.length > 0, `${dash.file}: no test value for $${v.name}`);
    all[v.name] = v.allValue !== null ? ['$__all'] : values.slice(0, 1);
    one[v.name] = values.slice(0, 1);
    two[v.name] = values;
  }
  return [all, one, two];
}

async function influxSeries(text: string): Promise<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]> {
  return influx.query(text, DB);
}

for (const dash of dashboards) {
  test(`${dash.file}: every InfluxQL query runs and returns data`, async () => {
    const queries = dash.queries.filter((q) => q.kind === 'influxdb');
    for (const sel of selections(dash)) {
      for (const q of queries) {
        const text = interpolate(q, dash.variables, sel, range);
        const series = await influxSeries(text).catch((err: Error) => assert.fail(`${q.where}: ${err.message}`));
        assert.ok(series.length > 0 && series.some((s) => s.values.length > 0), `${q.where}: no data for\n  ${text}`);
      }
    }
  });

  test(`${dash.file}: every PromQL query is accepted by Prometheus and returns data`, async () => {
    const queries = dash.queries.filter((q) => q.kind === 'prometheus');
    for (const sel of selections(dash)) {
      for (const q of queries) {
        if (q.variable) {
          // label_values(metric, label): Grafana asks /api/v1/series for the metric and collects the label.
          const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q.text);
          assert.ok(m, `${q.where}: unexpected variable query ${q.text}`);
          const values = new Set((await prom.series(m[1])).map((s) => s[m[2]]).filter(Boolean));
          assert.ok(values.size > 0, `${q.where}: ${q.text} found no values`);
          continue;
        }
        const text = interpolate(q, dash.variables, sel, range);
        const answer = await prom.query(text);
        assert.equal(answer.status, 'success', `${q.where}: ${answer.errorType ?? ''} ${answer.error ?? ''}\n  ${text}`);
        const result = answer.data?.result;
        assert.ok(Array.isArray(result) && result.length > 0, `${q.where}: empty result for\n  ${text}`);
      }
    }
  });
}

test('the query results say what the panels claim', async () => {
  const fleet = dashboards.find((d) => d.file === 'fleet.json');
  assert.ok(fleet);
  const byTitle = (title: string, kind: Query['kind']): Query => {
    const q = fleet.queries.find((x) => x.kind === kind && x.where.includes(`'${title}'`));
    assert.ok(q, `Fleet panel '${title}'`);
    return q;
  };
  // Active alerts: only the stream whose latest notice is firing; the resolved one is gone.
  const active = await influxSeries(interpolate(byTitle('Active alerts', 'influxdb'), fleet.variables, { line: ['$__all'] }, range));
  assert.deepEqual(active.map((s) => s.tags?.['stream']), ['line1/pump2']);
  assert.ok(active[0].columns.includes('top_channels'));
  const readings = active[0].values?.[0]?.[active[0].columns.indexOf('readings')];
  assert.match(String(readings), /^vib_x_rms read 3\.1, expected 1\.2 \(training 0\.74 to 2\.18\)/, 'the active alert says what its channels read');
  // Filtering by line keeps only that line's streams (line2 has no anomalous window at all).
  const perLine = byTitle('Anomalous windows per line', 'influxdb');
  const line1 = await influxSeries(interpolate(perLine, fleet.variables, { line: ['line1'] }, range));
  assert.deepEqual(line1.map((s) => s.tags?.['stream']), ['line1/pump2']);
  assert.deepEqual(await influxSeries(interpolate(perLine, fleet.variables, { line: ['line2'] }, range)), []);
  // Top assets: the anomalous pump first, with line and asset split out of the stream id.
  const top = await prom.query(interpolate(byTitle('Top assets by score / threshold', 'prometheus'), fleet.variables, { line: ['$__all'] }, range));
  const first = (top.data?.result as PromSample[])[0];
  assert.deepEqual({ stream: first.metric['stream'], line: first.metric['line'], asset: first.metric['asset'] }, { stream: 'line1/pump2', line: 'line1', asset: 'pump2' });
  assert.ok(Math.abs(Number(first.value[1]) - 0.05 / 0.012) < 1e-9);
  // Anomaly rate per line: one of line1's two pumps is over its threshold.
  const rate = await prom.query(interpolate(byTitle('Anomaly rate per line', 'prometheus'), fleet.variables, { line: ['line1'] }, range));
  assert.deepEqual((rate.data?.result as PromSample[]).map((s) => [s.metric['line'], Number(s.value[1])]), [['line1', 0.5]]);
  // The line variable's regex-free definition yields the lines.
  const lines = new Set((await prom.series('stream:anomalyd_score_over_threshold:ratio')).map((s) => s['line']));
  assert.deepEqual([...lines].sort(), ['line1', 'line2']);

  // Health points: one series per replica, not the two interleaved.
  const daemon = dashboards.find((d) => d.file === 'daemon-health.json');
  const healthQuery = daemon?.queries.find((q) => q.where.includes("'Health points in InfluxDB'"));
  assert.ok(daemon && healthQuery);
  const health = await influxSeries(interpolate(healthQuery, daemon.variables, {}, range));
  assert.deepEqual(health.map((s) => s.tags?.['shard']), ['0', '1']);
  const streamsColumn = health[0].columns.indexOf('streams');
  assert.deepEqual(health.map((s) => new Set(s.values.map((v) => v[streamsColumn]).filter((v) => v !== null)).size), [1, 1], 'each series holds one replica\'s figures');

  const asset = dashboards.find((d) => d.file === 'asset.json');
  assert.ok(asset);
  const shares = asset.queries.find((q) => q.where.includes("'Channel shares of the error'"));
  assert.ok(shares);
  const shareSeries = await influxSeries(interpolate(shares, asset.variables, { stream: ['line1/pump2'] }, range));
  assert.deepEqual(shareSeries[0].columns.slice(1).sort(), CHANNELS.map((c) => `mean_share_${c}`).sort(), 'one column per channel share');

  // Observed against expected: the band is expected ± tolerance, and the faulty channel's reading leaves it.
  const band = asset.queries.find((q) => q.where.includes("observed against expected'"));
  assert.ok(band);
  const [bandSeries] = await influxSeries(interpolate(band, asset.variables, { stream: ['line1/pump2'], channel: ['vib_x_rms'] }, range));
  assert.deepEqual(bandSeries.columns, ['time', 'observed', 'expected', 'expected_low', 'expected_high']);
  const rows = bandSeries.values.filter((v) => v[1] !== null) as [string, number, number, number, number][];
  assert.ok(rows.length > 30, `${rows.length} intervals with data`);
  for (const [, , expected, low, high] of rows) assert.ok(Math.abs(low - (expected - 0.4)) < 1e-9 && Math.abs(high - (expected + 0.4)) < 1e-9);
  const outside = rows.filter(([, observed, , low, high]) => observed < low || observed > high).length;
  assert.ok(outside >= 8 && outside <= 11, `the 10 faulty minutes (of 50) leave the band: ${outside} one-minute intervals outside`);
  const channels = await influxSeries('SHOW FIELD KEYS FROM "anomaly_expected"');
  const named = channels[0].values.map((v) => /^expected_(.+)$/.exec(String(v[0]))?.[1]).filter(Boolean);
  assert.deepEqual(named.sort(), [...CHANNELS].sort(), 'the $channel variable (with its regex) lists the channels');
});

test('every deploy rule evaluates without error in a real Prometheus', async () => {
  // promtool checks syntax; evaluation errors (many-to-many matches, label clashes) only show in a running server.
  const deadline = Date.now() + 15_000;
  let rules = await prom.rules();
  while (rules.some((r) => r.health === 'unknown') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    rules = await prom.rules();
  }
  assert.ok(rules.length >= 20, `rules loaded: ${rules.length}`);
  const bad = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
  assert.deepEqual(bad, []);
});

test('every anomalyd_* metric the dashboards and rules use is one the daemon exports', async () => {
  const exposition = await driven.metrics.text();
  const exported = new Set([...exposition.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap((m) =>
    m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]]));
  const texts = [
    ...dashboards.flatMap((d) => d.queries.filter((q) => q.kind === 'prometheus').map((q) => q.text)),
    ...readdirSync(path.join(DEPLOY, 'prometheus/rules')).map((f) => readFileSync(path.join(DEPLOY, 'prometheus/rules', f), 'utf8')),
  ];
  const used = new Set(texts.flatMap((t) => [...t.matchAll(/(?<![:\w])anomalyd_[a-z0-9_]+/g)].map((m) => m[0])));
  assert.ok(used.size >= 15, `metrics used: ${[...used].join(', ')}`);
  const unknown = [...used].filter((m) => !exported.has(m));
  assert.deepEqual(unknown, [], 'metrics used by deploy/ but not exported by src/telemetry/metrics.ts');
});
