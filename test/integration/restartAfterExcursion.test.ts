// A restart in the middle of an excursion already reported does not page it again. The auto-learned stream's
// fault pages once; its likelihood then suppresses the repeats and the alert resolves while the excursion goes
// on; the daemon is stopped there and the rest of the excursion is published while it is down (the broker's
// session queues it, as it would for messages not yet delivered at a stop). The restarted daemon continues its
// score filter from the checkpoint (state/filterCheckpoint.ts), so those samples are not new to its range check:
// no page. A daemon whose filter started afresh judged them against the learning range alone and paged again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite, pollUntil, type DaemonPlace, type DaemonProcess } from '../helpers/faults';

const TOPIC = 'plant/line7/pump7/telemetry';
// Fixed data (autoLearnScales.test.ts): pump 7 of seed 3, learned from its first 3010 s; a cavitation fault from
// 500 s after that, which pages at once, resolves under the likelihood's suppression about 80 s in, and shows
// no new extreme before 160 s.
const T0 = Date.parse('2026-03-02T00:00:00Z');
const RESUMED = T0 + 3010_000;
const SERIES = pumpSamples(3, RESUMED, 800, [{ kind: 'cavitation', startMs: RESUMED + 500_000, endMs: RESUMED + 660_000 }]);
const STOP_AT = 620;

const suite = faultSuite('restart-excursion', { receiver: true });
let daemon: DaemonProcess;

const config = ({ httpPort, stateDir, mqttUrl }: DaemonPlace): string => `http: { host: 127.0.0.1, port: ${httpPort} }
state_dir: ${stateDir}
mqtt: { url: ${mqttUrl}, client_id: anomalyd-restart-excursion, embedded_broker: off }
defaults:
  window: { size: 20, hop: 10, sample_period_ms: 1000 }
  training: { encoder_units: [16], latent_units: 4, epochs: 4, auto_learn_windows: 300, seed: 3 }
  alerting: { stall_after_ms: 0 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    timestamp: { max_age_ms: 0 }
    model: auto
    channels: [${PUMP_CHANNELS.join(', ')}]
    training: { ensemble: 2 }
sinks:
  console: { enabled: false }
  webhooks:
    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
`;

const metric = (name: string, labels: Record<string, string> = {}): Promise<number> => daemon.metric(name, labels);
const firingPages = (): number => suite.receiver.delivered().reduce((n, r) => n + r.body.alerts.filter((a) => a.status === 'firing').length, 0);

test('a restart within a reported excursion, its alert resolved, does not page the rest of it again', async () => {
  const publisher = await suite.publisher('restart-excursion-publisher');
  daemon = await suite.daemonFrom('restart-excursion', config);
  await daemon.ready();
  for (const s of pumpSamples(3, T0, 3010)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  await pollUntil('the model learned', () => Promise.resolve(daemon.log), (l) => /Learned a model; scoring starts/.test(l), 60_000);
  const base = await metric('anomalyd_windows_scored_total');
  for (const s of SERIES.slice(0, STOP_AT)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  // Windows end every 10 samples: the last one before the stop ends at sample STOP_AT - 1.
  await pollUntil('the windows before the stop scored', () => metric('anomalyd_windows_scored_total'), (n) => n >= base + STOP_AT / 10, 20_000);
  await pollUntil('the excursion paged and its page delivered', () => Promise.resolve(firingPages()), (n) => n >= 1, 10_000);
  assert.equal(await metric('anomalyd_alerts_firing'), 0, `the alert resolved under suppression before the stop (log: ${daemon.log.slice(-2000)})`);
  const pagesBefore = firingPages();
  const { code } = await daemon.stop();
  assert.equal(code, 0);
  // The rest of the excursion and normal running after it, queued by the broker while the daemon is down.
  for (const s of SERIES.slice(STOP_AT)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  daemon = suite.restart(daemon);
  await daemon.ready();
  const after = (SERIES.length - STOP_AT) / 10;
  await pollUntil('every window after the restart scored', () => metric('anomalyd_windows_scored_total'), (n) => n >= after, 20_000);
  assert.equal(await metric('anomalyd_alerts_total', { state: 'firing' }), 0, `no page after the restart (log: ${daemon.log.slice(-2000)})`);
  assert.equal(firingPages(), pagesBefore);
});
