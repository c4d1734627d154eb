// The binder with a real StateStore in a temp dir: stall and sensor-check alerts are saved and restored across
// a restart like the anomaly alert (no second page, resolved when the condition clears, re-asserted through
// onRestored), and a reload that removes a stream resolves every alert it had firing, with the reason, and
// forgets its saved state.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { createBinder } from '../../../src/app/bindings';
import { CoarseScaleFilter } from '../../../src/model/coarseScale';
import { TransformScaleFilter } from '../../../src/model/transformScale';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import { StateStore } from '../../../src/state/stateStore';
import { loadConfigText } from '../../../src/config/load';
import type { AlertNotice } from '../../../src/core/alert';
import type { Clock } from '../../../src/core/clock';
import { shardOf } from '../../../src/core/shard';
import type { StreamBinding } from '../../../src/pipeline/pipeline';
import { testContext } from '../../helpers/context';

const CONFIG = `
http: { port: 9464 }
state_dir: /tmp/unused
mqtt: { url: mqtt://127.0.0.1:1883, client_id: a }
models: { pump: { path: models/pump } }
defaults:
  alerting: { k: 1, n: 1, reset_windows: 1, keep_firing_for_ms: 0, stall_after_ms: 60000, flatline_samples: 10 }
subscriptions:
  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump, channels: [a, b] }
`;
const STREAM = 'l1/p1';
const config = (text = CONFIG): ReturnType<typeof loadConfigText> => loadConfigText(text, 'test.yaml', {});

function clockAt(t: { now: number }): Clock {
  return { now: () => t.now };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-binder-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A started StateStore in a fresh directory, on a clock that reads `t.now`; stopped afterwards, failed or not. */
async function withStore(t: { now: number }, fn: (c: ReturnType<typeof testContext>, state: StateStore) => void | Promise<void>): Promise<void> {
  await withDir(async (dir) => {
    const c = testContext('alerts', clockAt(t));
    const state = new StateStore(c.ctx, dir, 60_000);
    await state.start();
    try {
      await fn(c, state);
    } finally {
      await state.stop();
    }
  });
}

/** Binds the stream and, as the pipeline does at its first window, marks it as having completed one (`windowed`). */
function bind(binder: ReturnType<typeof createBinder>, windowed = true): StreamBinding {
  const b = binder.bind({ subscription: 0, stream: STREAM, labels: { line: 'l1', asset: 'p1' }, samples: [] });
  assert.ok(!('refused' in b), 'bound');
  if (windowed) b.stall?.windowCompleted();
  return b;
}

/** Samples at 1 s from `from`: channel a moves, channel b is stuck at 5.5 while `stuck`. */
function samples(b: StreamBinding, from: number, count: number, stuck: boolean): AlertNotice[] {
  const out: AlertNotice[] = [];
  for (let i = from; i < from + count; i++) out.push(...(b.sensors?.observe(i * 1000, [Math.sin(i), stuck ? 5.5 : 5 + Math.cos(i)]) ?? []));
  return out;
}

test('a firing SensorFlatline and IngestionStalled survive a restart: re-asserted, not re-paged, resolved when they clear', async () => {
  await withDir(async (dir) => {
    const t = { now: 1_000_000 };
    const first = testContext('alerts', clockAt(t));
    const state = new StateStore(first.ctx, dir, 60_000);
    await state.start();
    const binder = createBinder(first.ctx, config(), state);
    const b = bind(binder);
    const fired = samples(b, 0, 20, true);
    assert.deepEqual(fired.map((n) => n.kind), ['sensor_flatline']);
    const [stalled] = b.stall?.check(t.now + 61_000) ?? [];
    assert.equal(stalled?.kind, 'ingestion_stalled');
    binder.persist();
    await state.stop();
    const saved = JSON.parse(await readFile(state.file, 'utf8')) as { checks: Record<string, { stall: unknown; sensors: unknown }> };
    assert.ok(saved.checks[STREAM]?.stall && saved.checks[STREAM]?.sensors, 'both kept in state.json under checks');

    // The restart.
    t.now = 2_000_000;
    const second = testContext('alerts', clockAt(t));
    const state2 = new StateStore(second.ctx, dir, 60_000);
    await state2.start();
    const restored: AlertNotice[] = [];
    const binder2 = createBinder(second.ctx, config(), state2, { onRestored: (a) => restored.push(...a) });
    // Handed to the pipeline to bind before the first message, so a stream that never sends again still stalls.
    assert.deepEqual(binder2.reconcileSaved(), [{ stream: STREAM, subscription: 0, labels: { line: 'l1', asset: 'p1' }, samples: [] }]);
    const both = [fired[0].fingerprint, stalled.fingerprint].sort();
    // At start, before the (stalled) stream sends anything: Alertmanager must not let them expire meanwhile.
    assert.deepEqual(restored.map((n) => n.fingerprint).sort(), both, 're-asserted at start');
    assert.ok(restored.every((n) => n.status === 'firing' && n.endsAt === null));
    restored.length = 0;
    const b2 = bind(binder2);
    assert.deepEqual(restored.map((n) => n.fingerprint).sort(), both, 're-asserted as the stream is bound');
    assert.deepEqual(binder2.active().length, 2);
    assert.deepEqual(samples(b2, 20, 30, true), [], 'still stuck: no second SensorFlatline page');
    assert.deepEqual(b2.stall?.check(t.now + 30_000), [], 'still stalled: no second IngestionStalled page');
    const [stallResolved] = b2.stall?.activity(t.now + 40_000) ?? [];
    assert.equal(stallResolved?.status, 'resolved');
    assert.equal(stallResolved?.fingerprint, stalled.fingerprint);
    assert.equal(stallResolved?.startsAt, stalled.startsAt);
    const cleared = samples(b2, 50, 5, false);
    assert.deepEqual(cleared.map((n) => [n.kind, n.status]), [['sensor_flatline', 'resolved']]);
    assert.equal(cleared[0].fingerprint, fired[0].fingerprint);
    assert.ok(cleared[0].sequence > fired[0].sequence && stallResolved.sequence > stalled.sequence, 'sequence numbers go on across the restart');
    await state2.stop();
  });
});

test('an unreadable check snapshot is skipped with a warning, the rest is restored', async () => {
  const t = { now: 1_000_000 };
  await withStore(t, (c, state) => {
    const binder = createBinder(c.ctx, config(), state);
    const b = bind(binder);
    samples(b, 0, 20, true);
    binder.persist();
    state.setCheckSnapshot(STREAM, { stall: { version: 7 }, sensors: (state.checkSnapshot(STREAM) as { sensors: unknown }).sensors });
    const restored: AlertNotice[] = [];
    const binder2 = createBinder(c.ctx, config(), state, { onRestored: (a) => restored.push(...a) });
    binder2.reconcileSaved();
    assert.deepEqual(restored.map((n) => n.kind), ['sensor_flatline'], 'at start: the readable part');
    restored.length = 0;
    bind(binder2);
    assert.deepEqual(restored.map((n) => n.kind), ['sensor_flatline']);
    assert.ok(c.logs.some((l) => l.level === 'warn' && /Stall state of stream 'l1\/p1' not restored/.test(String(l.fields?.['error']))));
  });
});

test('a reload removing a stream resolves its anomaly, stall and sensor alerts with the reason and forgets it', async () => {
  const t = { now: 5_000_000 };
  await withStore(t, (c, state) => {
    const sent: AlertNotice[] = [];
    const binder = createBinder(c.ctx, config(), state, { notify: (n) => sent.push(...n) });
    const b = bind(binder);
    const firing = [
      ...b.alerts.observe({ time: 4_000_000, score: 9, threshold: 1, pValue: 1e-6, anomalous: true, channelShares: [{ channel: 'a', share: 1 }] }),
      ...samples(b, 0, 20, true),
      ...(b.stall?.check(t.now + 61_000) ?? []),
    ];
    assert.deepEqual(firing.map((n) => n.kind).sort(), ['anomaly', 'ingestion_stalled', 'sensor_flatline']);
    binder.persist();

    t.now = 6_000_000;
    const next = config(CONFIG.replace('topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry"', 'topic: site2/+/+/telemetry, template: "site2/{line}/{asset}/telemetry"'));
    assert.equal(binder.rebind(next)(b), null, 'the stream is not produced by the new config');
    assert.equal(sent.length, 3);
    for (const n of sent) {
      const was = firing.find((f) => f.fingerprint === n.fingerprint);
      assert.ok(was, `resolve of a firing alert (${n.kind})`);
      assert.equal(n.status, 'resolved');
      assert.equal(n.endsAt, 6_000_000);
      assert.equal(n.startsAt, was.startsAt);
      assert.match(n.reason ?? '', /Stream 'l1\/p1' was removed from the configuration by a reload/);
      assert.ok(n.sequence > Math.max(...firing.map((f) => f.sequence)));
    }
    assert.equal(state.alertSnapshot(STREAM), undefined, 'nothing of it is restored at the next start');
    assert.equal(state.checkSnapshot(STREAM), undefined);
    assert.deepEqual(binder.active(), []);
    assert.ok(c.logs.some((l) => l.msg.startsWith('Resolved the open alerts of a stream the reloaded configuration no longer has.')));

    // Back to the first config: a kept stream keeps its alerts and sends nothing.
    binder.rebind(config());
    const again = bind(binder);
    samples(again, 0, 20, true);
    sent.length = 0;
    assert.notEqual(binder.rebind(config())(again), null);
    assert.deepEqual(sent, []);
    assert.equal(binder.active().length, 1);
  });
});

test('sensor checks turned off while an alert fires: the resolve goes out at once instead of never', async () => {
  const t = { now: 1_000_000 };
  await withStore(t, (c, state) => {
    const sent: AlertNotice[] = [];
    const binder = createBinder(c.ctx, config(), state, { notify: (n) => sent.push(...n) });
    const b = bind(binder);
    samples(b, 0, 20, true);
    const rebound = binder.rebind(config(CONFIG.replace('flatline_samples: 10', 'flatline_samples: 0')))(b);
    assert.ok(rebound && !rebound.sensors, 'no sensor checks in the new binding');
    assert.deepEqual(sent.map((n) => [n.kind, n.status]), [['sensor_flatline', 'resolved']]);
    assert.match(sent[0].reason ?? '', /turned off/);
  });
});

test('at start, saved alerts of a stream the config no longer produces (removed subscription, other shard) are resolved and forgotten', async () => {
  for (const [what, edit] of [
    ['subscription removed while stopped', (t: string) => t.replace('topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry"', 'topic: site2/+/+/telemetry, template: "site2/{line}/{asset}/telemetry"')],
    // Two shards now, and this replica is the one that does not own the stream.
    ['moved to another shard while stopped', (t: string) => `${t}shard: { index: ${1 - shardOf(STREAM, 2)}, count: 2 }\n`],
  ] as const) {
    await withDir(async (dir) => {
      const t = { now: 1_000_000 };
      const c = testContext('alerts', clockAt(t));
      const state = new StateStore(c.ctx, dir, 60_000);
      await state.start();
      const binder = createBinder(c.ctx, config(), state);
      const b = bind(binder);
      const [fired] = samples(b, 0, 20, true);
      binder.persist();
      await state.stop();

      t.now = 9_000_000;
      const state2 = new StateStore(c.ctx, dir, 60_000);
      await state2.start();
      const sent: AlertNotice[] = [];
      const restored: AlertNotice[] = [];
      createBinder(c.ctx, config(edit(CONFIG)), state2, { notify: (n) => sent.push(...n), onRestored: (n) => restored.push(...n) }).reconcileSaved();
      assert.deepEqual(restored, [], `${what}: not re-asserted`);
      assert.deepEqual(sent.map((n) => [n.kind, n.status, n.fingerprint, n.endsAt]), [['sensor_flatline', 'resolved', fired.fingerprint, 9_000_000]], what);
      assert.match(sent[0].reason ?? '', /no longer monitored by this daemon/);
      assert.deepEqual(state2.savedStreams(), [], `${what}: forgotten`);
      await state2.stop();
    });
  }
});

/**
 * Runs `fn` with a started state store and a binder factory whose config turns the likelihood on with `scales`
 * (YAML keys of calibration.likelihood); the models whose scales a bound filter asks for are pushed to `asked`.
 */
async function withScaleBinding(fn: (bindWith: (scales: string) => ReturnType<typeof bind>, asked: string[]) => void): Promise<void> {
  await withDir(async (dir) => {
    const { ctx } = testContext('alerts', clockAt({ now: 0 }));
    const state = new StateStore(ctx, dir, 60_000);
    await state.start();
    try {
      const asked: string[] = [];
      const bindWith = (scales: string): ReturnType<typeof bind> => {
        const yaml = CONFIG.replace('defaults:\n', `defaults:\n  window: { size: 4, hop: 1 }\n  calibration: { likelihood: { enabled: true, ${scales} } }\n`);
        return bind(createBinder(ctx, config(yaml), state, { scalesOf: (m) => (asked.push(m), undefined) }));
      };
      fn(bindWith, asked);
    } finally {
      await state.stop();
    }
  });
}

const SCALED_WINDOW = { values: [1, 2, 3, 4, 5, 6, 7, 8], channels: 2 };

test('with coarse_pool the stream filter asks for the coarse scale of its model per window; without, it does not', async () => {
  await withScaleBinding((bindWith, asked) => {
    const withPool = bindWith('coarse_pool: 3');
    assert.ok(withPool.scoreFilter instanceof CoarseScaleFilter);
    withPool.scoreFilter.filter({ time: 1, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, window: SCALED_WINDOW });
    assert.deepEqual(asked, ['pump']);
    const without = bindWith('coarse_pool: 0');
    assert.ok(without.scoreFilter instanceof AnomalyLikelihood);
  });
});

test('with transform_scale the stream filter asks for the transformed scale of its model per window, inside the coarse one', async () => {
  await withScaleBinding((bindWith, asked) => {
    const alone = bindWith('coarse_pool: 0, transform_scale: diff');
    assert.ok(alone.scoreFilter instanceof TransformScaleFilter);
    alone.scoreFilter.filter({ time: 1, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, window: SCALED_WINDOW });
    assert.deepEqual(asked, ['pump']);
    const both = bindWith('coarse_pool: 3, transform_scale: demean');
    assert.ok(both.scoreFilter instanceof CoarseScaleFilter);
  });
});

test('a checkpoint hands the state store only the streams whose alert or check state changed since the last one', async () => {
  await withDir(async (dir) => {
    const t = { now: 1_000_000 };
    const { ctx } = testContext('alerts', clockAt(t));
    const state = new StateStore(ctx, dir, 60_000);
    await state.start();
    // Counts what each checkpoint copies.
    const copied = { alert: 0, checks: 0 };
    const setAlert = state.setAlertSnapshot.bind(state);
    const setChecks = state.setCheckSnapshot.bind(state);
    state.setAlertSnapshot = (stream, snapshot) => (copied.alert++, setAlert(stream, snapshot));
    state.setCheckSnapshot = (stream, snapshot) => (copied.checks++, setChecks(stream, snapshot));
    const persist = (): typeof copied => {
      copied.alert = copied.checks = 0;
      binder.persist();
      return { ...copied };
    };
    const binder = createBinder(ctx, config(), state);
    const b = bind(binder);
    const calm = { score: 0.1, threshold: 1, pValue: 0.9, anomalous: false, channelShares: [{ channel: 'a', share: 1 }] };
    b.alerts.observe({ time: 1000, ...calm });
    samples(b, 0, 3, false);
    assert.deepEqual(persist(), { alert: 1, checks: 1 }, 'the first checkpoint has the stream');
    b.alerts.observe({ time: 2000, ...calm });
    samples(b, 3, 1, false);
    assert.deepEqual(persist(), { alert: 0, checks: 1 }, 'a calm window: not copied; sensor checks on (flatline_samples 10) and a sample seen: copied');
    assert.deepEqual(persist(), { alert: 0, checks: 0 }, 'nothing seen since: nothing copied');
    b.alerts.observe({ time: 3000, ...calm, score: 9, pValue: 1e-6, anomalous: true });
    assert.deepEqual(persist(), { alert: 1, checks: 0 }, 'an anomalous window: copied');
    assert.equal((state.alertSnapshot(STREAM) as { held: string }).held, 'firing');
    b.stall?.check(t.now + 61_000);
    assert.deepEqual(persist(), { alert: 0, checks: 1 }, 'the stall alert fired: copied');
    await state.stop();
    const saved = JSON.parse(await readFile(state.file, 'utf8')) as { alerts: Record<string, { held: string }>; checks: Record<string, { stall: { firing: unknown } }> };
    assert.equal(saved.alerts[STREAM]?.held, 'firing', 'state.json holds the last copies');
    assert.ok(saved.checks[STREAM]?.stall.firing);
  });
});

test('a stream that never completed a window is not saved (a made-up topic does not come back after a restart); evict forgets a saved one', async () => {
  const t = { now: 1_000_000 };
  await withStore(t, ({ ctx }, state) => {
    const binder = createBinder(ctx, config(), state);
    const b = bind(binder, false);
    samples(b, 0, 3, false);
    binder.persist();
    assert.deepEqual(state.savedStreams(), [], 'not saved before its first window');
    b.stall?.windowCompleted();
    binder.persist();
    assert.deepEqual(state.savedStreams(), [STREAM], 'saved once it completed one');
    assert.equal(binder.evict(STREAM), true);
    assert.deepEqual(state.savedStreams(), [], 'evicted: its saved state goes with it');
  });
});

const MODES = CONFIG.replace(
  'channels: [a, b] }',
  'channels: [a, b], modes: { when: { off: "a < 1", high: "a > 10" }, default: normal, models: { high: auto } } }',
);

test('modes: a model per mode (auto: auto:<stream>@<mode>), a score filter per mode, off resolves what fires, and the mode survives a restart', async () => {
  const t = { now: 1_000_000 };
  const likely = MODES.replace('defaults:\n', 'defaults:\n  calibration: { likelihood: { enabled: true } }\n');
  await withStore(t, (c, state) => {
    const binder = createBinder(c.ctx, config(likely), state);
    const b = bind(binder);
    const modes = b.modes;
    assert.ok(modes, 'the stream has modes');
    assert.equal(modes.source, 'when');
    assert.deepEqual(['normal', 'high', 'off'].map((m) => modes.modelOf(m)), ['pump', 'auto:l1/p1@high', 'pump']);
    assert.deepEqual([[0.5, 0], [5, 0], [11, 0], [NaN, 0]].map((v) => modes.classify?.(v)), ['off', 'normal', 'high', 'normal']);
    const normal = modes.filterOf('normal');
    assert.ok(normal && normal !== modes.filterOf('high') && normal !== b.scoreFilter, 'one filter per mode');
    assert.equal(modes.filterOf('normal'), normal, 'made once');
    assert.deepEqual([...modes.filters().keys()], ['normal', 'high']);
    // A firing stall resolves when the machine stops, with the reason.
    b.stall?.check(t.now + 61_000);
    const resolved = modes.stopped(t.now + 62_000);
    assert.deepEqual(resolved.map((n) => [n.kind, n.status]), [['ingestion_stalled', 'resolved']]);
    assert.match(resolved[0]?.reason ?? '', /^The machine stopped \(operating mode off\)/);
    assert.equal(binder.active().length, 0);
    modes.changed('off');
    binder.persist();
    const binder2 = createBinder(c.ctx, config(likely), state);
    assert.equal(bind(binder2).modes?.initial, 'off', 'restored from the state file');
    const plain = createBinder(c.ctx, config(), state);
    assert.equal(bind(plain).modes, undefined, 'no modes configured: none, whatever the state file says');
  });
});

test('restart (a stream that learns again on new channels) resolves what it has firing with the reason and forgets its state', async () => {
  const t = { now: 5_000_000 };
  await withStore(t, (c, state) => {
    const sent: AlertNotice[] = [];
    const binder = createBinder(c.ctx, config(), state, { notify: (n) => sent.push(...n) });
    const b = bind(binder);
    const firing = b.alerts.observe({ time: 4_000_000, score: 9, threshold: 1, pValue: 1e-6, anomalous: true, channelShares: [{ channel: 'a', share: 1 }] });
    assert.deepEqual(firing.map((n) => n.kind), ['anomaly']);
    binder.persist();
    binder.restart(STREAM, "Stream 'l1/p1' learns again");
    assert.deepEqual(sent.map((n) => [n.kind, n.status, n.reason]), [['anomaly', 'resolved', "Stream 'l1/p1' learns again"]]);
    assert.equal(state.alertSnapshot(STREAM), undefined);
    assert.deepEqual(binder.active(), []);
    // Bound again, it starts clean.
    bind(binder);
    assert.deepEqual(binder.active(), []);
  });
});
