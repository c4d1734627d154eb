// /readyz while every message fails: a real daemon (`anomalyd run`, real Mosquitto) with
// http.ready_ingest_window_s: 2 receives only payloads it rejects; /readyz turns 503 with the 'ingest' check
// naming the rejection reason, and 200 again once a good message is accepted. (The window logic itself, single
// bad messages and silence included, is unit-tested with a manual clock in readinessIngest.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, pumpSeries, simAssets, topicOf } from '../helpers/faults';

const suite = faultSuite('readyz-ingest');

interface Readyz {
  readonly status: number;
  readonly body: { failing?: { name: string; detail: string }[] };
}

test('every message rejected for the window: /readyz 503 naming the reason; an accepted message makes it ready again', async () => {
  const d = await suite.daemon('readyz-ingest', {}, (yaml) => yaml.replace(/^http: \{ (.*) \}$/m, 'http: { $1, ready_ingest_window_s: 2 }'));
  await d.ready();
  const pub = await suite.publisher('readyz-ingest-publisher');
  const readyz = async (): Promise<Readyz> => {
    const r = await fetch(`${d.base}/readyz`);
    return { status: r.status, body: (await r.json()) as Readyz['body'] };
  };
  // Bad messages keep arriving (one per probe), so the failing spans the window.
  const failing = await pollUntil(
    "/readyz to fail its 'ingest' check",
    async () => {
      await pub.publish(topicOf('pump0'), '{not json', 1);
      return readyz();
    },
    (r) => r.status === 503,
    20_000,
    250,
  );
  const ingest = failing.body.failing?.find((f) => f.name === 'ingest');
  assert.deepEqual(failing.body.failing?.map((f) => f.name), ['ingest'], JSON.stringify(failing.body));
  assert.match(ingest?.detail ?? '', /^\d+ messages received in the last \d+ s and none accepted: top rejection reason 'invalid_json'/);

  const [seed] = simAssets('pump', 1, 3, 1).map((a) => a.seed);
  const [sample] = pumpSeries(seed, Date.now() - 1000, 1);
  await pub.publish(topicOf('pump0'), pumpPayload(sample), 1);
  const ready = await pollUntil('/readyz 200 after an accepted message', readyz, (r) => r.status === 200, 10_000, 200);
  assert.equal(ready.status, 200);
});
