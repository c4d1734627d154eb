// The Alertmanager sink against a real Alertmanager, fed by the real alert state machine.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertNotice, ChannelShare } from '../../src/core/alert';
import { SequenceCounter } from '../../src/core/alertSequence';
import { AlertStateMachine } from '../../src/core/alerting';
import { AlertmanagerSink } from '../../src/sinks/alertmanager';
import { getAlerts, startAlertmanager, type AlertmanagerProcess, type GettableAlert } from '../helpers/alertmanager';
import { testContext } from '../helpers/context';
import { notice } from '../helpers/notices';

const SHARES: ChannelShare[] = [
  { channel: 'vib_x', share: 0.7 },
  { channel: 'current', share: 0.2 },
  { channel: 'flow', share: 0.1 },
];

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ours = (alerts: GettableAlert[]): GettableAlert[] => alerts.filter((a) => a.labels['stream'] === 'line1/pump1');

describe('AlertmanagerSink with a real Alertmanager', () => {
  let am: AlertmanagerProcess;
  before(async () => {
    am = await startAlertmanager();
  });
  after(async () => {
    await am?.stop();
  });

  it('posts a firing alert, escalates it, and resolves it so it is no longer active', async () => {
    const t = testContext('sink.alertmanager');
    const sink = new AlertmanagerSink(t.ctx, { url: am.url, timeoutMs: 2000, repostIntervalMs: 60_000, externalUrl: 'http://127.0.0.1:9464' });
    const counter = new SequenceCounter();
    const machine = new AlertStateMachine({
      stream: 'line1/pump1',
      model: 'pump',
      labels: { line: 'line1', asset: 'pump1' },
      k: 1,
      n: 1,
      resetWindows: 1,
      resetRatio: 0.9,
      keepFiringForMs: 0,
      severityCriticalPValue: 1e-5,
      insufficientWindows: 3,
      flapMaxStarts: 0,
      flapPeriodMs: 600_000,
      flapQuietMs: 60_000,
      topChannels: 3,
      nextSequence: () => counter.next(),
    });
    const observe = (score: number, pValue: number): AlertNotice[] => {
      const notices = machine.observe({ time: Date.now(), score, threshold: 1, pValue, anomalous: score > 1, channelShares: SHARES });
      for (const n of notices) sink.writeAlert(n);
      return notices;
    };
    await sink.start();
    try {
      const [fired] = observe(3, 1e-3);
      assert.ok(fired);
      await eventually('the firing alert', async () => ours(await getAlerts(am.url)).length === 1);
      const [alert] = ours(await getAlerts(am.url));
      assert.deepEqual(alert?.labels, { alertname: 'AnomalyDetected', stream: 'line1/pump1', model: 'pump', severity: 'warning', line: 'line1', asset: 'pump1' });
      assert.equal(alert?.status.state, 'active');
      assert.equal(Date.parse(alert?.startsAt ?? ''), fired.startsAt);
      assert.match(alert?.annotations['description'] ?? '', /top channels: vib_x 70%, current 20%, flow 10%/);
      // Expiry four repost intervals ahead: Alertmanager keeps it without our re-posts for that long, not forever.
      const expires = Date.parse(alert?.endsAt ?? '') - Date.now();
      assert.ok(expires > 200_000 && expires <= 240_000, `endsAt ${alert?.endsAt}`);

      observe(8, 1e-8);
      await eventually('the escalated alert replacing the warning', async () => {
        const now = ours(await getAlerts(am.url));
        return now.length === 1 && now[0]?.labels['severity'] === 'critical';
      });

      const [resolved] = observe(0.2, 0.9);
      assert.equal(resolved?.status, 'resolved');
      await eventually('no active alert for the stream', async () => ours(await getAlerts(am.url)).length === 0);
      await sink.flush();
      assert.equal(sink.stats().buffered, 0);
      assert.deepEqual(t.calls('sinkError'), []);
    } finally {
      await sink.stop();
    }
  });

  it('re-asserts alerts that were firing before a restart', async () => {
    const t = testContext('sink.alertmanager');
    const sink = new AlertmanagerSink(t.ctx, { url: am.url, timeoutMs: 2000, repostIntervalMs: 60_000, externalUrl: 'http://127.0.0.1:9464' });
    const active = notice({
      fingerprint: 'aa00aa00aa00aa00', kind: 'insufficient_data', severity: 'warning', startsAt: Date.now() - 60_000,
      score: 0, threshold: 1, pValue: 1, topChannels: [], sequence: 9,
    });
    await sink.start();
    try {
      sink.reconcile([active]);
      await eventually('the reconciled alert', async () => ours(await getAlerts(am.url)).some((a) => a.labels['alertname'] === 'InsufficientData'));
      sink.writeAlert({ ...active, status: 'resolved', endsAt: Date.now(), sequence: 10 });
      await eventually('its resolve', async () => ours(await getAlerts(am.url)).length === 0);
    } finally {
      await sink.stop();
    }
  });
});
