import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertNotice, ChannelShare } from '../../../src/core/alert';
import { alertFingerprint } from '../../../src/core/alertFingerprint';
import { SequenceCounter } from '../../../src/core/alertSequence';
import { AlertStateMachine, FLAPPING_LABEL, type AlertPhase, type AlertStateOptions } from '../../../src/core/alerting';

const STREAM = 'line1/pump1';
const SHARES: ChannelShare[] = [
  { channel: 'a', share: 0.1 },
  { channel: 'b', share: 0.6 },
  { channel: 'c', share: 0.2 },
  { channel: 'd', share: 0.1 },
];
const BASE: Omit<AlertStateOptions, 'nextSequence'> = {
  stream: STREAM,
  model: 'pump',
  labels: { line: 'line1', asset: 'pump1' },
  k: 3,
  n: 5,
  resetWindows: 3,
  resetRatio: 0.9,
  keepFiringForMs: 0,
  severityCriticalPValue: 1e-5,
  insufficientWindows: 3,
  flapMaxStarts: 0,
  flapPeriodMs: 600_000,
  flapQuietMs: 60_000,
  topChannels: 3,
};

function machine(over: Partial<AlertStateOptions> = {}, counter = new SequenceCounter()): { m: AlertStateMachine; counter: SequenceCounter } {
  return { m: new AlertStateMachine({ ...BASE, ...over, nextSequence: () => counter.next() }), counter };
}

/** A window at `time` with threshold 1: anomalous above 1; p-value 1e-3 when anomalous unless given. */
function win(time: number, score: number, pValue = score > 1 ? 1e-3 : 0.5): Parameters<AlertStateMachine['observe']>[0] {
  return { time, score, threshold: 1, pValue, anomalous: score > 1, channelShares: SHARES };
}

/** Feeds scores one second apart from t0; returns the notices with the window index that caused them, and the phases. */
function feed(m: AlertStateMachine, scores: readonly number[], t0 = 0): { notices: { i: number; n: AlertNotice }[]; phases: AlertPhase[] } {
  const notices: { i: number; n: AlertNotice }[] = [];
  const phases: AlertPhase[] = [];
  scores.forEach((score, i) => {
    for (const n of m.observe(win(t0 + i * 1000, score))) notices.push({ i, n });
    phases.push(m.phase);
  });
  return { notices, phases };
}

describe('AlertStateMachine: k of n', () => {
  it('fires on the window that makes k of the last n anomalous, with the full notice', () => {
    const { m } = machine();
    const { notices, phases } = feed(m, [2, 0.5, 2, 0.5, 2.5]);
    assert.deepEqual(phases, ['pending', 'pending', 'pending', 'pending', 'firing']);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]?.i, 4);
    assert.deepEqual(notices[0]?.n, {
      fingerprint: alertFingerprint(STREAM, 'anomaly'),
      stream: STREAM,
      model: 'pump',
      kind: 'anomaly',
      status: 'firing',
      severity: 'warning',
      startsAt: 4000,
      endsAt: null,
      score: 2.5,
      threshold: 1,
      pValue: 1e-3,
      topChannels: [
        { channel: 'b', share: 0.6 },
        { channel: 'c', share: 0.2 },
        { channel: 'a', share: 0.1 },
      ],
      sequence: 1,
      labels: { line: 'line1', asset: 'pump1' },
    });
  });

  it('a pending alert whose hits age out of the n windows returns to normal without any notice', () => {
    const { m } = machine();
    const { notices, phases } = feed(m, [2, 0.5, 0.5, 2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    assert.equal(notices.length, 0);
    assert.deepEqual(phases, ['pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'normal', 'normal']);
  });

  it('once resolved, a new alert needs k fresh anomalous windows', () => {
    const { m } = machine({ resetWindows: 1 });
    const { notices } = feed(m, [2, 2, 2, 0.5, 2, 2, 0.5, 2]);
    assert.deepEqual(
      notices.map(({ i, n }) => [i, n.status]),
      [
        [2, 'firing'],
        [3, 'resolved'],
        [7, 'firing'],
      ],
    );
  });
});

describe('AlertStateMachine: resolving', () => {
  it('hysteresis: windows under the threshold but above reset_ratio x threshold keep it firing', () => {
    const { m } = machine();
    const { notices } = feed(m, [2, 2, 2, ...Array<number>(20).fill(0.95), 0.5, 0.5, 0.95, 0.5, 0.5, 0.5]);
    assert.deepEqual(
      notices.map(({ i, n }) => [i, n.status]),
      [
        [2, 'firing'],
        [28, 'resolved'],
      ],
    );
    const resolved = notices[1]?.n;
    assert.equal(resolved?.endsAt, 28_000);
    assert.equal(resolved?.startsAt, 2000);
    assert.equal(resolved?.fingerprint, notices[0]?.n.fingerprint);
    assert.equal(m.phase, 'normal');
  });

  it('keep_firing_for: calm windows do not resolve before the minimum firing time has passed', () => {
    const { m } = machine({ k: 1, n: 1, resetWindows: 2, keepFiringForMs: 10_000 });
    const { notices } = feed(m, [2, ...Array<number>(15).fill(0.5)], 2000);
    assert.deepEqual(
      notices.map(({ n }) => [n.status, n.startsAt, n.endsAt]),
      [
        ['firing', 2000, null],
        ['resolved', 2000, 12_000],
      ],
    );
  });
});

describe('AlertStateMachine: severity', () => {
  it('escalates warning -> critical once with a new notice, never de-escalates, resolves as critical', () => {
    const { m } = machine({ k: 1, n: 1, resetWindows: 1 });
    const out = [
      ...m.observe(win(0, 2, 1e-3)),
      ...m.observe(win(1000, 5, 1e-7)),
      ...m.observe(win(2000, 6, 1e-8)),
      ...m.observe(win(3000, 2, 1e-3)),
      ...m.observe(win(4000, 0.2)),
    ];
    assert.deepEqual(
      out.map((n) => [n.status, n.severity, n.startsAt, n.sequence]),
      [
        ['firing', 'warning', 0, 1],
        ['firing', 'critical', 0, 2],
        ['resolved', 'critical', 0, 3],
      ],
    );
    assert.equal(new Set(out.map((n) => n.fingerprint)).size, 1);
  });

  it('fires critical directly when the firing window is beyond the critical p-value', () => {
    const { m } = machine({ k: 1, n: 1 });
    assert.equal(m.observe(win(0, 9, 1e-6))[0]?.severity, 'critical');
  });
});

describe('AlertStateMachine: flapping', () => {
  const flappy = { k: 1, n: 1, resetWindows: 1, flapMaxStarts: 2, flapPeriodMs: 600_000, flapQuietMs: 60_000 };

  it('the start beyond flap_max_starts sends one flapping notice, flaps send nothing, quiet resolves it', () => {
    const { m } = machine(flappy);
    // starts at windows 0, 2, 4 (the third start flaps), then more flaps at 6 and 8, then quiet.
    const scores = [2, 0.5, 2, 0.5, 2, 0.5, 2, 0.5, 2, 0.5];
    const { notices, phases } = feed(m, scores);
    assert.deepEqual(
      notices.map(({ i, n }) => [i, n.status, n.labels[FLAPPING_LABEL] ?? '-']),
      [
        [0, 'firing', '-'],
        [1, 'resolved', '-'],
        [2, 'firing', '-'],
        [3, 'resolved', '-'],
        [4, 'firing', 'true'],
      ],
    );
    assert.deepEqual(phases.slice(4), ['flapping', 'flapping', 'flapping', 'flapping', 'flapping', 'flapping']);
    const held = notices[4]?.n;
    // Quiet since window 9 (t = 9 s): resolves at the first window 60 s later, keeping the flapping notice's identity.
    const quiet = feed(m, Array<number>(70).fill(0.5), 10_000);
    assert.equal(quiet.notices.length, 1);
    const resolved = quiet.notices[0]?.n;
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.endsAt, 69_000);
    assert.equal(resolved?.startsAt, held?.startsAt);
    assert.equal(resolved?.labels[FLAPPING_LABEL], 'true');
    assert.equal(m.phase, 'normal');
    // After the hold the count starts over: the next start is an ordinary page.
    const again = feed(m, [2], 200_000).notices;
    assert.deepEqual(
      again.map(({ n }) => [n.status, n.labels[FLAPPING_LABEL] ?? '-']),
      [['firing', '-']],
    );
  });

  it('an anomaly that returns during the hold delays its resolve', () => {
    const { m } = machine(flappy);
    feed(m, [2, 0.5, 2, 0.5, 2, 0.5]);
    assert.equal(m.phase, 'flapping');
    // Ended at 5 s; a new start at 50 s restarts the quiet period: no resolve at 65 s, resolve at 51 + 60 s.
    const later = feed(m, [2, ...Array<number>(70).fill(0.5)], 50_000).notices;
    assert.deepEqual(
      later.map(({ n }) => [n.status, n.endsAt]),
      [['resolved', 111_000]],
    );
  });

  it('starts spread wider than flap_period_ms never flap', () => {
    const { m } = machine({ ...flappy, flapPeriodMs: 10_000 });
    const notices: AlertNotice[] = [];
    for (let i = 0; i < 6; i++) notices.push(...feed(m, [2, 0.5], i * 20_000).notices.map((x) => x.n));
    assert.equal(notices.length, 12);
    assert.ok(notices.every((n) => n.labels[FLAPPING_LABEL] === undefined));
  });
});

describe('AlertStateMachine: insufficient data', () => {
  it('fires a distinct InsufficientData alert after the configured run and resolves on the next scored window', () => {
    const { m } = machine();
    m.observe(win(0, 0.5));
    assert.deepEqual(m.observeInsufficient({ time: 1000, completeness: 0.2 }), []);
    assert.deepEqual(m.observeInsufficient({ time: 2000, completeness: 0.1 }), []);
    const fired = m.observeInsufficient({ time: 3000, completeness: 0 });
    assert.equal(fired.length, 1);
    assert.equal(fired[0]?.kind, 'insufficient_data');
    assert.equal(fired[0]?.status, 'firing');
    assert.equal(fired[0]?.startsAt, 3000);
    assert.equal(fired[0]?.threshold, 1);
    assert.notEqual(fired[0]?.fingerprint, alertFingerprint(STREAM, 'anomaly'));
    assert.equal(fired[0]?.fingerprint, alertFingerprint(STREAM, 'insufficient_data'));
    assert.deepEqual(m.observeInsufficient({ time: 4000, completeness: 0 }), []);
    assert.equal(m.insufficientData, true);
    assert.equal(m.phase, 'normal');
    const back = m.observe(win(5000, 0.4));
    assert.deepEqual(
      back.map((n) => [n.kind, n.status, n.startsAt, n.endsAt]),
      [['insufficient_data', 'resolved', 3000, 5000]],
    );
    assert.equal(m.insufficientData, false);
  });

  it('insufficient windows are neither normal nor anomalous: they keep k-of-n history and the calm count', () => {
    const { m } = machine();
    feed(m, [2, 2]);
    for (let t = 2000; t < 10_000; t += 1000) m.observeInsufficient({ time: t, completeness: 0 });
    assert.equal(m.phase, 'pending');
    const fired = m.observe(win(10_000, 2));
    assert.deepEqual(
      fired.map((n) => [n.kind, n.status]),
      [
        ['insufficient_data', 'resolved'],
        ['anomaly', 'firing'],
      ],
    );
    feed(m, [0.5, 0.5], 11_000);
    m.observeInsufficient({ time: 13_000, completeness: 0.3 });
    m.observeInsufficient({ time: 14_000, completeness: 0.3 });
    assert.equal(m.phase, 'firing');
    const resolved = m.observe(win(15_000, 0.5));
    assert.deepEqual(
      resolved.map((n) => [n.kind, n.status]),
      [['anomaly', 'resolved']],
    );
  });
});

describe('AlertStateMachine: snapshot and restore', () => {
  const roundTrip = (m: AlertStateMachine): unknown => JSON.parse(JSON.stringify(m.snapshot())) as unknown;

  it('a restored firing alert is not paged again and still resolves with its identity', () => {
    const { m, counter } = machine();
    const fired = feed(m, [2, 2, 2]).notices[0]?.n;
    const saved = roundTrip(m);
    const restarted = machine({}, new SequenceCounter(counter.last)).m;
    restarted.restore(saved);
    assert.equal(restarted.phase, 'firing');
    assert.deepEqual(restarted.active(), [fired]);
    const after = feed(restarted, [3, 2, 0.5, 0.5, 0.5], 10_000).notices;
    assert.equal(after.length, 1);
    const resolved = after[0]?.n;
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.fingerprint, fired?.fingerprint);
    assert.equal(resolved?.startsAt, fired?.startsAt);
    assert.equal(resolved?.endsAt, 14_000);
    assert.ok((resolved?.sequence ?? 0) > (fired?.sequence ?? Infinity));
  });

  it('keeps pending history, the calm count, severity, flapping and insufficient-data state', () => {
    const pending = machine().m;
    feed(pending, [2, 2]);
    const p2 = machine().m;
    p2.restore(roundTrip(pending));
    assert.equal(p2.phase, 'pending');
    assert.equal(p2.observe(win(3000, 2)).length, 1);

    const calm = machine({ k: 1, n: 1 }).m;
    feed(calm, [2, 5, 0.5, 0.5]);
    calm.observe(win(3500, 9, 1e-9));
    feed(calm, [0.5, 0.5], 4000);
    const c2 = machine({ k: 1, n: 1 }).m;
    c2.restore(roundTrip(calm));
    const out = c2.observe(win(6000, 0.5));
    assert.deepEqual(
      out.map((n) => [n.status, n.severity]),
      [['resolved', 'critical']],
    );

    const flap = machine({ k: 1, n: 1, resetWindows: 1, flapMaxStarts: 1 }).m;
    feed(flap, [2, 0.5, 2, 0.5]);
    const f2 = machine({ k: 1, n: 1, resetWindows: 1, flapMaxStarts: 1 }).m;
    f2.restore(roundTrip(flap));
    assert.equal(f2.phase, 'flapping');
    assert.deepEqual(feed(f2, [2, 0.5], 4000).notices, []);

    const gap = machine().m;
    for (let t = 0; t < 3000; t += 1000) gap.observeInsufficient({ time: t, completeness: 0 });
    const g2 = machine().m;
    g2.restore(roundTrip(gap));
    assert.equal(g2.insufficientData, true);
    assert.deepEqual(
      g2.observe(win(9000, 0.5)).map((n) => [n.kind, n.status]),
      [['insufficient_data', 'resolved']],
    );
  });

  it('refuses snapshots of another stream, another version or garbage, and keeps its state', () => {
    const { m } = machine();
    feed(m, [2, 2, 2]);
    const good = roundTrip(m) as Record<string, unknown>;
    const other = machine({ stream: 'line2/pump9' }).m;
    assert.throws(() => other.restore(good), /not restored: belongs to stream "line1\/pump1"/);
    const target = machine().m;
    feed(target, [2]);
    assert.throws(() => target.restore({ ...good, version: 99 }), /unsupported version 99/);
    assert.throws(() => target.restore({ ...good, held: 'firing', anomaly: null }), /held alert without its notice/);
    assert.throws(() => target.restore('{"version":1}'), /not an object/);
    assert.throws(() => target.restore({ ...good, episode: { recent: [1], active: false, since: 0, calm: 0 } }), /bad episode/);
    assert.equal(target.phase, 'pending');
  });
});

describe('AlertStateMachine: sequence numbers', () => {
  it('are strictly increasing across streams sharing one counter and across a restart', () => {
    const counter = new SequenceCounter();
    const a = machine({ stream: 'a', k: 1, n: 1, resetWindows: 1 }, counter).m;
    const b = machine({ stream: 'b', k: 1, n: 1, resetWindows: 1 }, counter).m;
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const score = i % 2 === 0 ? 2 : 0.5;
      seen.push(...a.observe(win(i * 1000, score)).map((n) => n.sequence));
      seen.push(...b.observe(win(i * 1000, score)).map((n) => n.sequence));
    }
    const restarted = new SequenceCounter(counter.last);
    const c = machine({ stream: 'a', k: 1, n: 1 }, restarted).m;
    seen.push(...c.observe(win(99_000, 2)).map((n) => n.sequence));
    assert.equal(seen.length, 21);
    assert.deepEqual(
      seen,
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
  });
});

describe('AlertStateMachine: options', () => {
  it('rejects impossible settings', () => {
    assert.throws(() => machine({ k: 6, n: 5 }), /k must be an integer in \[1, 5\]/);
    assert.throws(() => machine({ insufficientWindows: 0 }), /insufficientWindows/);
    assert.throws(() => machine({ resetRatio: 1.5 }), /resetRatio/);
    assert.throws(() => machine({ flapMaxStarts: -1 }), /flapMaxStarts/);
  });

  it('carries the configured number of top channels', () => {
    const { m } = machine({ k: 1, n: 1, topChannels: 1 });
    assert.deepEqual(m.observe(win(0, 2))[0]?.topChannels, [{ channel: 'b', share: 0.6 }]);
  });
});

describe('AlertStateMachine: revision (the checkpoint copies changed machines only)', () => {
  it('stays put for calm windows on a calm stream and moves with anything the snapshot holds', () => {
    const { m } = machine();
    feed(m, [0.5, 0.5, 0.5, 0.5, 0.5]);
    const calm = m.revision;
    const before = JSON.stringify(m.snapshot());
    feed(m, [0.5, 0.5, 0.5], 5000);
    assert.equal(m.revision, calm, 'calm windows after a full calm history');
    assert.equal(JSON.stringify(m.snapshot()), before, 'and the snapshot is indeed the same');
    feed(m, [2], 8000);
    assert.notEqual(m.revision, calm, 'an anomalous window');
    const pending = m.revision;
    feed(m, [0.5], 9000);
    assert.notEqual(m.revision, pending, 'a calm window while an anomalous one is still in the last n');
    const r = m.revision;
    m.observe({ ...win(10_000, 0.5), threshold: 2 });
    assert.notEqual(m.revision, r, 'a new threshold');
    const s = m.revision;
    m.observeInsufficient({ time: 11_000, completeness: 0.1 });
    assert.notEqual(m.revision, s, 'an insufficient window');
    const t = m.revision;
    m.restore(m.snapshot());
    assert.notEqual(m.revision, t, 'a restore');
  });
});

describe('AlertStateMachine: readings of the top channels', () => {
  it('asks for readings only on notices and only for the top channels, and puts them on the notice', () => {
    const { m } = machine({ topChannels: 2 });
    const asked: number[] = [];
    const observation = (time: number, score: number): Parameters<AlertStateMachine['observe']>[0] => ({
      ...win(time, score),
      readingOf(index: number) {
        asked.push(index);
        return { observed: 100 + index, expected: 50 + index, trainingMin: 40, trainingMax: 60 };
      },
    });
    const notices: AlertNotice[] = [];
    [0.5, 2, 2].forEach((score, i) => notices.push(...m.observe(observation(i * 1000, score))));
    assert.deepEqual(asked, [], 'no notice, no reading');
    notices.push(...m.observe(observation(3000, 2)));
    assert.equal(notices.length, 1);
    // Channel b (index 1) has the largest share, then c (index 2).
    assert.deepEqual(asked, [1, 2]);
    assert.deepEqual(notices[0]?.topChannels, [
      { channel: 'b', share: 0.6, reading: { observed: 101, expected: 51, trainingMin: 40, trainingMax: 60 } },
      { channel: 'c', share: 0.2, reading: { observed: 102, expected: 52, trainingMin: 40, trainingMax: 60 } },
    ]);
    // The notice survives the state file: a restored machine resolves with the readings of its own window.
    const restored = machine({ topChannels: 2 }).m;
    restored.restore(JSON.parse(JSON.stringify(m.snapshot())));
    const [resolve] = [0.1, 0.1, 0.1].flatMap((score, i) => restored.observe(observation(4000 + i * 1000, score)));
    assert.equal(resolve?.status, 'resolved');
    assert.equal(resolve?.topChannels[0]?.reading?.observed, 101);
  });

  it('an observation without readings gives notices with shares only', () => {
    const { m } = machine();
    const [n] = [2, 2, 2].flatMap((score, i) => m.observe(win(i * 1000, score)));
    assert.ok(n && n.topChannels.every((c) => !('reading' in c)));
  });
});
