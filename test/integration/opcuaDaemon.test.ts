// `anomalyd run` with an opcua: section against a simulated PLC (a real node-opcua server playing the pump
// signals the bundled model knows, with a fault injected): the stream is scored, the fault pages through the
// webhook, a node that goes Bad is counted per node and not scored, and /metrics, /readyz and the status page
// show the OPC UA input. The PLC plays a plant second every 20 ms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusCodes } from 'node-opcua-status-code';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { counterValue, faultSuite, metricValue, PUMP_MODEL, pollUntil, pumpSeries, simAssets, type DaemonPlace } from '../helpers/faults';
import { SimulatedPlc } from '../helpers/opcuaServer';

const STREAM = 'line1/pump1';

function opcuaConfig(at: DaemonPlace, endpoint: string, hook: string): string {
  const items = PUMP_CHANNELS.map((c) => `        - { node_id: "${SimulatedPlc.nodeId('Pump1', c)}", channel: ${c} }`).join('\n');
  return `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-opcua, embedded_broker: off }
models: { pump: { path: ${PUMP_MODEL} } }
defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 0 }
opcua:
  endpoint_url: ${endpoint}
  reconnect: { min_delay_ms: 200, max_delay_ms: 1000 }
  subscriptions:
    - stream: ${STREAM}
      model: pump
      publishing_interval_ms: 100
      sampling_interval_ms: 0
      items:
${items}
sinks:
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
      const text = await pollUntil('the Bad value counted', () => daemon.metricsText(), (t) => counterValue(t, 'anomalyd_opcua_bad_values_total', { node, quality: 'bad' }) >= 1, 15_000);
      assert.equal(metricValue(text, 'anomalyd_opcua_connected'), 1);
      assert.equal(metricValue(text, 'anomalyd_opcua_monitored_items', { state: 'ok' }), PUMP_CHANNELS.length);
      assert.ok(counterValue(text, 'anomalyd_windows_scored_total') >= 20, 'the stream was scored');
      assert.ok(counterValue(text, 'anomalyd_samples_total') >= series.length - 1, 'every played sample was accepted');
      const page = await (await fetch(`${daemon.base}/`)).text();
      assert.match(page, /<dt>OPC UA<\/dt><dd><span class="ok">connected<\/span>/);
      // node-opcua's own console output (its W27 warning at load) goes into the log at DEBUG, not to stderr.
      assert.doesNotMatch(daemon.log, /NODE-OPCUA-W27/);
    } finally {
      await plc.stop();
    }
  });
});
