// `anomalyd run` with an opcua: section against a simulated PLC (a real node-opcua server playing the pump
// signals the bundled model knows, with a fault injected): the stream is scored, the fault pages through the
// webhook, a node that goes Bad is counted per node and not scored, and /metrics, /readyz and the status page
// show the OPC UA input. The PLC server restarting: the daemon reconnects by itself, scores again, counts the
// outage and pages one stall (and its resolve). A reload that adds and removes a stream and moves the endpoint
// replaces the OPC UA source without a restart. The PLC plays a plant second every 20 ms.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { StatusCodes } from 'node-opcua-status-code';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { counterValue, faultSuite, metricValue, PUMP_MODEL, pollUntil, pumpSeries, simAssets, sleep, type DaemonPlace } from '../helpers/faults';
import { LinkProxy, SimulatedPlc } from '../helpers/opcuaServer';

const STREAM = 'line1/pump1';

/** One OPC UA subscription: `asset`'s eight tags, by node id (or by browse path), as `stream`. */
function subscription(stream: string, asset: string, byPath = false): string {
  const items = PUMP_CHANNELS.map((c) => (byPath ? `        - { browse_path: "/Objects/1:${asset}/1:${c}", channel: ${c} }` : `        - { node_id: "${SimulatedPlc.nodeId(asset, c)}", channel: ${c} }`)).join('\n');
  return `    - stream: ${stream}
      model: pump
      publishing_interval_ms: 100
      sampling_interval_ms: 0
      items:
${items}`;
}

function opcuaConfig(at: DaemonPlace, endpoint: string, hook: string, opts: { subscriptions?: readonly string[]; stallAfterMs?: number; opcua?: boolean } = {}): string {
  const subs = opts.subscriptions ?? [subscription(STREAM, 'Pump1')];
  const opcua = opts.opcua === false ? '' : `opcua:
  endpoint_url: ${endpoint}
  reconnect: { min_delay_ms: 200, max_delay_ms: 1000 }
  subscriptions:
${subs.join('\n')}
`;
  return `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-opcua-${path.basename(at.stateDir)}, embedded_broker: off }
models: { pump: { path: ${PUMP_MODEL} } }
limits: { stall_summary_wait_ms: 0 }
defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: ${opts.stallAfterMs ?? 0} }
${opcua}sinks:
  console: { enabled: false }
  webhooks:
    - { name: oncall, url: ${hook}, retry_base_ms: 100, retry_max_delay_ms: 400 }
`;
}

describe('anomalyd run with an OPC UA input', () => {
  const suite = faultSuite('opcua', { receiver: true });

  it('scores the PLC stream, pages the injected fault, and counts a node that goes Bad', async () => {
    const seed = simAssets('pump', 2, 3, 1)[0]?.seed ?? 1;
    // Plant time ending an hour ago: samples 120..190 four times their size (far outside what the model saw).
    const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    const series = pumpSeries(seed, t0, 260, [[120, 190]]);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], paused: true });
    try {
      const daemon = await suite.daemonFrom('opcua', (at) => opcuaConfig(at, plc.endpointUrl, suite.receiver.url));
      await daemon.ready();
      plc.play();
      const firing = await pollUntil(
        'the fault to page',
        () => Promise.resolve(suite.receiver.delivered().flatMap((r) => r.body.alerts).filter((a) => a.status === 'firing' && a.labels.stream === STREAM)),
        (alerts) => alerts.length > 0,
        30_000,
      );
      assert.equal(firing[0]?.labels.stream, STREAM);
      // After the fault, temperature goes Bad for the rest of the series.
      await pollUntil('the fault played', () => Promise.resolve(plc.played), (n) => n >= 220, 30_000);
      plc.setStatus('Pump1', 'temperature_c', StatusCodes.BadSensorFailure);
      const node = SimulatedPlc.nodeId('Pump1', 'temperature_c');
      await pollUntil('every sample', () => Promise.resolve(plc.played), (n) => n >= series.length, 30_000);
      // The last samples reach the daemon a publishing interval or more after the PLC played them.
      const text = await pollUntil(
        'the Bad value counted and every played sample accepted',
        () => daemon.metricsText(),
        (t) => counterValue(t, 'anomalyd_opcua_bad_values_total', { node, quality: 'bad' }) >= 1 && counterValue(t, 'anomalyd_samples_total') >= series.length - 1,
        15_000,
      );
      assert.equal(metricValue(text, 'anomalyd_opcua_connected'), 1);
      assert.equal(metricValue(text, 'anomalyd_opcua_monitored_items', { state: 'ok' }), PUMP_CHANNELS.length);
      assert.ok(counterValue(text, 'anomalyd_windows_scored_total') >= 20, 'the stream was scored');
      const page = await (await fetch(`${daemon.base}/`)).text();
      assert.match(page, /<dt>OPC UA<\/dt><dd><span class="ok">connected<\/span>/);
      // node-opcua's own console output (its W27 warning at load) goes into the log at DEBUG, not to stderr.
      assert.doesNotMatch(daemon.log, /NODE-OPCUA-W27/);
    } finally {
      await plc.stop();
    }
  });

  it('reconnects by itself when the PLC server restarts: scored again, the outage counted, one stall page and its resolve', async () => {
    const seed = simAssets('pump', 2, 3, 1)[0]?.seed ?? 1;
    const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    const series = pumpSeries(seed, t0, 1_200);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], paused: true });
    try {
      const daemon = await suite.daemonFrom('opcua-restart', (at) => opcuaConfig(at, plc.endpointUrl, suite.receiver.url, { stallAfterMs: 2_000 }));
      await daemon.ready();
      plc.play();
      await pollUntil('windows scored before the restart', () => daemon.metricsText(), (t) => counterValue(t, 'anomalyd_windows_scored_total') >= 10, 30_000);
      const stallsBefore = stalls(suite.receiver.delivered());
      await plc.restart(5_000);
      const scoredAtRestart = counterValue(await daemon.metricsText(), 'anomalyd_windows_scored_total');
      const text = await pollUntil(
        'scoring to resume after the restart',
        () => daemon.metricsText(),
        (t) => metricValue(t, 'anomalyd_opcua_connected') === 1 && counterValue(t, 'anomalyd_windows_scored_total') >= scoredAtRestart + 10,
        45_000,
      );
      assert.ok(counterValue(text, 'anomalyd_opcua_reconnects_total') >= 1, 'the link restored is counted');
      assert.equal(counterValue(text, 'anomalyd_opcua_subscriptions_recreated_total', { stream: STREAM }), 1, 'the subscription the server lost, once');
      assert.equal(counterValue(text, 'anomalyd_opcua_notifications_lost_total'), 0);
      assert.equal(metricValue(text, 'anomalyd_opcua_monitored_items', { state: 'ok' }), PUMP_CHANNELS.length);
      // The stall semantics: silent past stall_after_ms pages once, the first samples back resolve it; no more.
      const notices = await pollUntil('the stall resolved', () => Promise.resolve(stalls(suite.receiver.delivered()).slice(stallsBefore.length)), (n) => n.includes('resolved'), 15_000);
      await sleep(1_000);
      assert.deepEqual(stalls(suite.receiver.delivered()).slice(stallsBefore.length), ['firing', 'resolved'], `notices: ${notices.join(',')}`);
      assert.match(daemon.log, /Lost connection to OPC UA server/);
      assert.match(daemon.log, /The OPC UA server no longer had a subscription/);
      assert.ok(daemon.running, 'still running');
      const page = await (await fetch(`${daemon.base}/`)).text();
      assert.match(page, /<dt>OPC UA<\/dt><dd><span class="ok">connected<\/span>/);
    } finally {
      await plc.stop();
    }
  });

  it('applies a reload of the opcua section: a stream added and removed, the endpoint moved, without a restart', async () => {
    const seed = simAssets('pump', 2, 3, 1)[0]?.seed ?? 1;
    const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    const plc = await SimulatedPlc.start({
      assets: [
        { name: 'Pump1', samples: pumpSeries(seed, t0, 2_000) },
        { name: 'Pump2', samples: pumpSeries(seed + 1, t0, 2_000) },
      ],
      paused: true,
    });
    const proxy = await LinkProxy.start(plc.port);
    const STREAM2 = 'line1/pump2';
    try {
      const daemon = await suite.daemonFrom('opcua-reload', (at) => opcuaConfig(at, plc.endpointUrl, suite.receiver.url));
      // daemonFrom's file (<dir>/<name>.yaml), rewritten before each SIGHUP.
      const write = (yaml: string): void => writeFileSync(path.join(suite.dir, 'opcua-reload.yaml'), yaml);
      await daemon.ready();
      plc.play();
      const at: DaemonPlace = { httpPort: daemon.httpPort, stateDir: path.join(suite.dir, 'opcua-reload'), mqttUrl: suite.mosquitto.url };
      const reloads = async (n: number): Promise<string> =>
        pollUntil(`reload ${n}`, () => daemon.metricsText(), (t) => counterValue(t, 'anomalyd_config_reloads_total', { result: 'ok' }) >= n, 30_000);
      const scored = (t: string): number => counterValue(t, 'anomalyd_windows_scored_total');
      const hasScore = (t: string, stream: string): boolean => Number.isFinite(metricValue(t, 'anomalyd_stream_score', { stream }));
      const streams = async (): Promise<string[]> => ((await (await fetch(`${daemon.base}/api/v1/streams`)).json()) as { streams: { stream: string }[] }).streams.map((x) => x.stream);
      await pollUntil('pump1 scored', () => daemon.metricsText(), (t) => hasScore(t, STREAM) && scored(t) >= 5, 30_000);

      // 1. A second stream, by browse paths.
      write(opcuaConfig(at, plc.endpointUrl, suite.receiver.url, { subscriptions: [subscription(STREAM, 'Pump1'), subscription(STREAM2, 'Pump2', true)] }));
      daemon.signal('SIGHUP');
      const one = scored(await reloads(1));
      let text = await pollUntil('both streams scored', () => daemon.metricsText(), (t) => hasScore(t, STREAM2) && scored(t) >= one + 10, 30_000);
      assert.equal(metricValue(text, 'anomalyd_opcua_monitored_items', { state: 'ok' }), 2 * PUMP_CHANNELS.length);
      assert.deepEqual((await streams()).sort(), [STREAM, STREAM2]);
      assert.match(daemon.log, /Reloaded the configuration\.[^\n]*opcua[^\n]*replaced/);
      assert.doesNotMatch(daemon.log, /needs_restart=[^\n]*opcua/);

      // 2. The endpoint moves (to a proxy in front of the same PLC): cutting the proxy now cuts the daemon off.
      write(opcuaConfig(at, proxy.endpointUrl, suite.receiver.url, { subscriptions: [subscription(STREAM, 'Pump1'), subscription(STREAM2, 'Pump2', true)] }));
      daemon.signal('SIGHUP');
      const two = scored(await reloads(2));
      await pollUntil('scored through the new endpoint', () => daemon.metricsText(), (t) => metricValue(t, 'anomalyd_opcua_connected') === 1 && scored(t) >= two + 10, 30_000);
      proxy.cut();
      await pollUntil('the daemon to lose the link the proxy carried', () => daemon.metric('anomalyd_opcua_connected'), (v) => v === 0, 15_000);
      proxy.restore();
      await pollUntil('the link back', () => daemon.metric('anomalyd_opcua_connected'), (v) => v === 1, 30_000);

      // 3. The second stream removed.
      write(opcuaConfig(at, proxy.endpointUrl, suite.receiver.url));
      daemon.signal('SIGHUP');
      const three = scored(await reloads(3));
      text = await pollUntil('one stream monitored, and scored', () => daemon.metricsText(), (t) => metricValue(t, 'anomalyd_opcua_monitored_items', { state: 'ok' }) === PUMP_CHANNELS.length && scored(t) >= three + 10, 30_000);
      assert.equal(metricValue(text, 'anomalyd_streams_active'), 1, 'the removed stream is dropped');
      assert.deepEqual(await streams(), [STREAM], 'the removed stream leaves the status API');
      assert.match(daemon.log, /Reloaded the configuration\.[^\n]*streams_removed=1[^\n]*opcua=replaced/);

      // The stream carried across three replaced sources: nothing taken twice or out of order (a new source
      // leaves out the first values it is sent again), nothing lost, no reload refused.
      assert.doesNotMatch(daemon.log, new RegExp(`Rejected messages\\.[^\\n]*topic=${STREAM}`));
      const story = daemon.log.split('\n').filter((l) => /OPC UA|Reloaded/.test(l) && !/node-opcua said/.test(l)).join('\n');
      assert.equal(counterValue(text, 'anomalyd_opcua_notifications_lost_total'), 0, story);
      assert.equal(counterValue(text, 'anomalyd_config_reloads_total', { result: 'error' }), 0);

      // 4. The section removed: its metrics and status row go, and readiness no longer waits for it.
      write(opcuaConfig(at, proxy.endpointUrl, suite.receiver.url, { opcua: false }));
      daemon.signal('SIGHUP');
      await reloads(4);
      text = await daemon.metricsText();
      assert.doesNotMatch(text, /anomalyd_opcua_connected/);
      const ready = await fetch(`${daemon.base}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
      assert.doesNotMatch(await (await fetch(`${daemon.base}/`)).text(), /<dt>OPC UA<\/dt>/);
      assert.ok(daemon.running);
    } finally {
      await proxy.close();
      await plc.stop();
    }
  });
});

/** The IngestionStalled notices of the stream, in order: 'firing', 'resolved'. */
function stalls(delivered: ReturnType<ReturnType<typeof faultSuite>['receiver']['delivered']>): string[] {
  return delivered.flatMap((r) => r.body.alerts).filter((a) => a.labels.alertname === 'IngestionStalled' && a.labels.stream === STREAM).map((a) => a.status);
}
