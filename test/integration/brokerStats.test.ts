// The broker's dropped-message count read from $SYS on a real Mosquitto (sys_interval 1, max_queued_messages
// 10): a parked persistent QoS 1 session (the slow consumer) overflows under a flood, Mosquitto drops what does
// not fit and counts it only in $SYS; anomalyd_broker_dropped_messages_total follows and a WARN names the
// cause. Drops from before anomalyd watched are logged but not counted; after a broker restart (count back to
// 0, seen by its uptime going down) new drops still count. A broker that refuses the $SYS subscription costs
// one INFO line and nothing else.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectAsync } from 'mqtt';
import { BrokerStats, DROPPED_TOPIC } from '../../src/sources/brokerStats';
import { createEvents } from '../../src/telemetry/events';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics';
import { testContext, type TestContext } from '../helpers/context';
import { dynamicSecurityMissing, startMosquitto, startMosquittoRefusingSubscribe, waitFor, type Mosquitto } from '../helpers/mosquitto';
import { parseExposition, sampleValue } from '../unit/telemetry/expo';

const QUEUE = 10;
let broker: Mosquitto;

before(async () => {
  broker = await startMosquitto({ extraConfig: ['sys_interval 1', `max_queued_messages ${QUEUE}`] });
});

after(async () => {
  await broker?.close();
});

/** A persistent QoS 1 session that subscribed and went away: the broker queues for it, up to QUEUE. */
async function parkSession(url: string, clientId: string): Promise<void> {
  const c = await connectAsync(url, { clientId, clean: false });
  await c.subscribeAsync('flood/#', { qos: 1 });
  await c.endAsync();
}

async function flood(url: string, n: number): Promise<void> {
  const c = await connectAsync(url, { clientId: `flooder-${n}-${Date.now()}` });
  await Promise.all(Array.from({ length: n }, (_, i) => c.publishAsync('flood/x', String(i), { qos: 1 })));
  await c.endAsync();
}

/** The broker's own count as a plain subscriber sees it (retained, so the current value arrives at once). */
async function brokerCount(url: string): Promise<number> {
  const c = await connectAsync(url, { clientId: `sys-reader-${Date.now()}` });
  try {
    const got = new Promise<number>((resolve) => c.on('message', (_t, p) => resolve(Number(p.toString()))));
    await c.subscribeAsync(DROPPED_TOPIC, { qos: 0 });
    return await got;
  } finally {
    await c.endAsync();
  }
}

async function waitForBrokerCount(url: string, want: number): Promise<void> {
  let last = -1;
  const deadline = Date.now() + 10_000;
  while ((last = await brokerCount(url)) !== want) {
    if (Date.now() > deadline) throw new Error(`the broker's $SYS count stayed ${last}, expected ${want}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Rig {
  readonly tc: TestContext;
  readonly metrics: Metrics;
  readonly stats: BrokerStats;
  dropped(): Promise<number>;
}

function rig(url: string): Rig {
  const metrics = createMetrics({ maxStreamLabels: 10, defaultMetrics: false });
  const tc = testContext('source.broker_stats');
  const events = createEvents(tc.ctx.log, metrics);
  const stats = new BrokerStats({ ...tc.ctx, events }, { url, clientId: 'anomalyd-test-stats', reconnectPeriodMs: 200 });
  return {
    tc,
    metrics,
    stats,
    dropped: async () => sampleValue(parseExposition(await metrics.text()), 'anomalyd_broker_dropped_messages_total', {}),
  };
}

test('drops of a slow persistent QoS 1 session: counted while watched, warned with cause and fix, across a broker restart', async () => {
  await parkSession(broker.url, 'slow-consumer');
  await flood(broker.url, 30);
  // 30 for a queue of 10: Mosquitto drops 20 and says so only in $SYS.
  await waitForBrokerCount(broker.url, 20);

  const r = rig(broker.url);
  try {
    await r.stats.start();
    await waitFor(() => r.tc.logs.some((l) => /before anomalyd read its count/.test(l.msg)), 'the before-watch warning', 10_000, () => r.tc.logs);
    const before = r.tc.logs.find((l) => /before anomalyd read its count/.test(l.msg));
    assert.equal(before?.level, 'warn');
    assert.equal(before?.fields?.dropped, 20);
    assert.equal(await r.dropped(), 0, 'drops from before anomalyd watched are not counted');

    await flood(broker.url, 30);
    let value = 0;
    const poll = setInterval(() => void r.dropped().then((v) => (value = v)), 50);
    try {
      await waitFor(() => value === 30, 'the counter to follow 30 new drops', 10_000, () => value);
    } finally {
      clearInterval(poll);
    }
    const warn = r.tc.logs.find((l) => l.msg === 'The MQTT broker dropped messages.');
    assert.equal(warn?.level, 'warn');
    assert.match(String(warn?.fields?.likely_cause), /max_queued_messages/);
    assert.match(String(warn?.fields?.fix), /raise max_queued_messages/);
    assert.equal(warn?.fields?.broker_count !== undefined, true);

    // A restart: Mosquitto's count starts again at 0 (the parked session and its full queue persist). 65 drops
    // take the new count above the old 50, so only the uptime going down tells that all 65 are new.
    await broker.restart();
    await flood(broker.url, 65);
    await waitForBrokerCount(broker.url, 65);
    const poll2 = setInterval(() => void r.dropped().then((v) => (value = v)), 50);
    try {
      await waitFor(() => value === 95, 'the counter to add the 65 drops after the restart', 15_000, () => value);
    } finally {
      clearInterval(poll2);
    }
    assert.equal(r.tc.logs.filter((l) => l.level === 'error').length, 0);
  } finally {
    await r.stats.stop();
    await r.stats.stop();
  }
});

test('a broker that refuses the $SYS subscription: one INFO line, no retries, nothing counted', { skip: dynamicSecurityMissing }, async () => {
  const locked = await startMosquittoRefusingSubscribe('$SYS/#', ['sys_interval 1']);
  const r = rig(locked.url);
  try {
    await r.stats.start();
    await waitFor(() => r.tc.logs.some((l) => /refused the subscription/.test(l.msg)), 'the refusal line', 10_000, () => r.tc.logs);
    const lines = r.tc.logs.filter((l) => l.level !== 'debug');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 'info');
    assert.equal(lines[0].fields?.reason_code, '0x80');
    assert.equal(await r.dropped(), 0);
  } finally {
    await r.stats.stop();
    await locked.close();
  }
});
