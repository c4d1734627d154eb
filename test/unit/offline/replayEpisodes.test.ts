// Alert episodes read off the notices of the daemon's alert state machine, as replay reports them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertEpisodes, alertFlags } from '../../../src/offline/replayEpisodes';
import type { AlertNotice } from '../../../src/core/alert';
import { AlertStateMachine, type AlertStateOptions } from '../../../src/core/alerting';
import type { ScorePoint } from '../../../src/sinks/sink';

const OPTIONS: AlertStateOptions = {
  stream: 's',
  model: 'm',
  k: 2,
  n: 3,
  resetWindows: 2,
  resetRatio: 1,
  keepFiringForMs: 0,
  severityCriticalPValue: 0.001,
  insufficientWindows: 1,
  flapMaxStarts: 0,
  flapPeriodMs: 60_000,
  flapQuietMs: 10_000,
  topChannels: 1,
  nextSequence: (() => {
    let n = 0;
    return () => ++n;
  })(),
};

/** Windows 1 s apart: score per window (threshold 1), p-value per window, the share of channel a. */
function run(windows: readonly { score: number; p?: number; a?: number }[], options: Partial<AlertStateOptions> = {}): { notices: AlertNotice[]; scores: ScorePoint[] } {
  const machine = new AlertStateMachine({ ...OPTIONS, ...options });
  const notices: AlertNotice[] = [];
  const scores: ScorePoint[] = [];
  windows.forEach((w, i) => {
    const time = (i + 1) * 1000;
    const a = w.a ?? 0.5;
    const point = { stream: 's', model: 'm', time, score: w.score, threshold: 1, pValue: w.p ?? 0.5, anomalous: w.score >= 1, completeness: 1, channelShares: { a, b: 1 - a } };
    scores.push(point);
    notices.push(...machine.observe({ ...point, channelShares: [{ channel: 'a', share: a }, { channel: 'b', share: 1 - a }] }));
  });
  return { notices, scores };
}

test('an episode: from its firing notice to its resolve, escalated severity, the channels of the page, peak and windows in between', () => {
  const calm = { score: 0.1 };
  const { notices, scores } = run([calm, { score: 2, a: 0.9 }, { score: 3, a: 0.9 }, { score: 9, p: 1e-6, a: 0.2 }, calm, calm, calm]);
  const [e] = alertEpisodes(notices, scores);
  assert.equal(e.kind, 'anomaly');
  assert.equal(e.start, 3000, 'the second anomalous window of k=2');
  assert.equal(e.end, 6000, 'the second calm window');
  assert.equal(e.severity, 'critical', 'escalated by the window of p 1e-6');
  assert.deepEqual(e.topChannels, [{ channel: 'a', share: 0.9 }], 'the channels the page named');
  assert.equal(e.peakScore, 9);
  assert.equal(e.windows, 3);
  assert.deepEqual(Array.from(alertFlags(scores, [e])), [0, 0, 1, 1, 1, 0, 0]);
});

test('an episode still firing at the end of the data has no end; flapping is reported', () => {
  const hot = { score: 2 };
  const calm = { score: 0.1 };
  const { notices, scores } = run([hot, hot, calm, calm, hot, hot, calm, calm, hot, hot], { flapMaxStarts: 2 });
  const episodes = alertEpisodes(notices, scores);
  assert.deepEqual(
    episodes.map((e) => [e.start, e.end, e.flapping]),
    [
      [2000, 4000, false],
      [6000, 8000, false],
      [10_000, null, true],
    ],
  );
  assert.equal(episodes[2].windows, 1);
});
