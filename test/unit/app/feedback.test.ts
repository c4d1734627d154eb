import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Feedback } from '../../../src/app/feedback';
import { AlertHistory } from '../../../src/core/alertHistory';
import type { EventPoint } from '../../../src/core/sink';
import { FeedbackFile } from '../../../src/state/feedbackFile';
import { testContext } from '../../helpers/context';
import { notice } from '../../helpers/notices';

const T = Date.parse('2026-12-10T05:00:00Z');

async function setup(dir?: string): Promise<{ fb: Feedback; history: AlertHistory; points: EventPoint[]; dir: string }> {
  const d = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'anomalyd-feedback-')));
  const history = new AlertHistory();
  const points: EventPoint[] = [];
  const log = testContext('feedback').ctx.log;
  const fb = new Feedback({ file: new FeedbackFile(d, log), history, log, now: () => T + 3_600_000, written: (p) => points.push(p) });
  await fb.start();
  return { fb, history, points, dir: d };
}

test('a label names an episode of the history (the latest without a start), is saved, written to InfluxDB, and survives a restart', async () => {
  const { fb, history, points, dir } = await setup();
  history.record(notice({ fingerprint: 'fp1', stream: 'line1/pump1', startsAt: T - 86_400_000 }));
  history.record(notice({ fingerprint: 'fp1', stream: 'line1/pump1', status: 'resolved', startsAt: T - 86_400_000, endsAt: T - 86_000_000 }));
  history.record(notice({ fingerprint: 'fp1', stream: 'line1/pump1', startsAt: T }));
  assert.equal(await fb.label('nope', { label: 'true_positive', note: '' }, 'admin'), 'unknown');
  assert.equal(await fb.label('fp1', { label: 'true_positive', note: '', startsAt: T - 1 }, 'admin'), 'unknown', 'no episode starts then');
  const latest = await fb.label('fp1', { label: 'false_positive', note: 'valve test' }, 'admin');
  assert.ok(latest !== 'unknown');
  assert.equal(latest.startsAt, new Date(T).toISOString());
  assert.equal(latest.endsAt, null, 'still firing');
  const older = await fb.label('fp1', { label: 'true_positive', note: '', startsAt: T - 86_400_000 }, 'admin');
  assert.ok(older !== 'unknown');
  assert.equal(older.endsAt, new Date(T - 86_000_000).toISOString());
  assert.deepEqual(points.map((p) => [p.kind, p.time, p.tags['fingerprint'], p.fields['label']]), [['feedback', T, 'fp1', 'false_positive'], ['feedback', T - 86_400_000, 'fp1', 'true_positive']]);
  const saved = JSON.parse(await readFile(path.join(dir, 'feedback.json'), 'utf8')) as { feedback: unknown[] };
  assert.equal(saved.feedback.length, 2);
  const again = await setup(dir);
  assert.deepEqual(again.fb.list().map((f) => [f.startsAt, f.label]), [[new Date(T).toISOString(), 'false_positive'], [new Date(T - 86_400_000).toISOString(), 'true_positive']]);
  assert.deepEqual(again.fb.book.precision(T + 3_600_000).get('line1/pump1'), { truePositives: 1, falsePositives: 1, precision: 0.5 });
});
