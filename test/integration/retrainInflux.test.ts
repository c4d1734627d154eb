// Retraining from the plant's history in a real InfluxDB (`retrain: {source: influx}`): the stream's query,
// filled with its labels and the lookback, reads the history the plant wrote (here a `pumps` measurement of
// another database); the windows of an alert the daemon recorded in InfluxDB are left out, as `train
// --influx-query` leaves them out, and the rest trains the candidate. Real daemon, Mosquitto and InfluxDB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PUMP_CHANNELS, pumpSamples } from '../../src/simulator/signals';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, publishAll, simAssets, topicOf } from '../helpers/faults';

const ADMIN = 'admin-secret-4242-retrain-influx';
const STREAM = 'line1/pump0';
const suite = faultSuite('retrain-influx', { influx: true });

interface Job {
  readonly id: string;
  readonly state: string;
  readonly reason?: string;
  readonly windows?: number;
  readonly metrics?: Record<string, number>;
}

test('source influx: a retrain reads the stream\'s history through its query and leaves the recorded alert out', async () => {
  const seed = simAssets('pump', 1, 3, 1)[0].seed;
  // Three hours ago, 1,200 s of the pump at 1 Hz: windows of 30 with hop 10 end at 29 + 10 j, j = 0..117.
  const t0 = Math.floor((Date.now() - 3 * 3600_000) / 1000) * 1000;
  await suite.influx.query('CREATE DATABASE plant');
  await suite.influx.query('CREATE DATABASE anomalyd');
  const history = pumpSamples(seed, t0, 1200).map((s) => `pumps,asset=pump0 ${PUMP_CHANNELS.map((c, i) => `${c}=${s.values[i]}`).join(',')} ${s.ts}`);
  // Another pump's history must not be read.
  history.push(...pumpSamples(seed, t0, 50).map((s) => `pumps,asset=pump9 ${PUMP_CHANNELS.map((c, i) => `${c}=${s.values[i] * 5}`).join(',')} ${s.ts}`));
  assert.equal((await suite.influx.writeLines('plant', history.join('\n'))).status, 204);
  // The daemon's alert of that stream from 600 s to 700 s: with the lead-in of (n - 1) x hop + size - 1 = 69 s,
  // windows ending at 539 s .. 729 s (j = 51..70) are left out.
  const alert = (state: string, s: number): string =>
    `anomaly_alert,stream=${STREAM},model=pump,severity=warning state="${state}",score=1,fingerprint="fa",sequence=1i,kind="anomaly" ${t0 + s * 1000}`;
  assert.equal((await suite.influx.writeLines('anomalyd', [alert('firing', 600), alert('resolved', 700)].join('\n'))).status, 204);

  const d = await suite.daemon(
    'retrain-influx',
    {
      sinks: `  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }`,
      extra: `retrain:
  source: influx
  influx_query: SELECT * FROM "plant".."pumps" WHERE "asset" = '{asset}' AND $timeFilter
  lookback: 1d
  min_clean_windows: 50
  drift: { enabled: false }`,
    },
    (yaml) =>
      yaml
        .replace(/^http: \{ (.*) \}$/m, `http: { $1, admin_token: ${ADMIN} }`)
        .replace(/^defaults:\n/m, 'defaults:\n  training: { epochs: 3, encoder_units: [32], latent_units: 4, seed: 5 }\n'),
  );
  await d.ready();
  const base = `http://127.0.0.1:${d.httpPort}`;
  const pub = await suite.publisher('retrain-influx-publisher');
  // A few live windows, so the daemon knows the stream and its model.
  await publishAll(pub, pumpSamples(seed, Date.now() - 120_000, 60).map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 20);
  const path = `/api/v1/streams/${encodeURIComponent(STREAM)}/retrain`;
  const started = await pollUntil(
    'the stream is known and the retrain starts',
    async () => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } }),
    (r) => r.status === 202,
    20_000,
    500,
  );
  const { id } = (await started.json()) as Job;
  const job = await pollUntil(
    'the retrain ends',
    async () => (await (await fetch(`${base}${path}`)).json()) as Job,
    (j) => j.id === id && j.state !== 'queued' && j.state !== 'training',
    60_000,
    300,
  );
  assert.equal(job.state, 'shadow', JSON.stringify(job));
  assert.equal(job.metrics?.['influx_windows'], 118, JSON.stringify(job.metrics));
  assert.equal(job.metrics?.['left_out_alert_or_maintenance'], 20);
  assert.equal(job.windows, 98);
});
