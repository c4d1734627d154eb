import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { StallDetector } from '../../../src/core/stall';
import { STALL_SUMMARY_STREAM, StallSummary, type FreshStall } from '../../../src/core/stallSummary';

const SILENCE = 1000;
const WAIT = 500;

/** Streams with stall detectors that all saw a window at t = 0, and a summary over them, as the pipeline wires them. */
function plant(streams: number, fireAfter = 3) {
  let seq = 0;
  const nextSequence = (): number => ++seq;
  const detectors = Array.from({ length: streams }, (_, i) => {
    const d = new StallDetector({ stream: `gw1/s${i}`, model: 'm', labels: {}, silenceMs: SILENCE, nextSequence }, 0);
    d.windowCompleted();
    return d;
  });
  const summary = new StallSummary({ fireAfter, groupWaitMs: WAIT, nextSequence });
  /** One periodic check at `now` of the detectors in `which` (default all); the notices that would be emitted. */
  const tick = (now: number, which: readonly StallDetector[] = detectors): { notices: readonly AlertNotice[]; adopted: AlertNotice | null } => {
    const fresh: FreshStall[] = [];
    let summarised = 0;
    let earliest: number | null = null;
    for (const d of which) {
      const since = d.summarisedSince;
      if (since !== null) {
        summarised++;
        earliest = earliest === null ? since : Math.min(earliest, since);
      }
      for (const notice of d.check(now)) fresh.push({ notice, summarise: (by) => d.summarise(by) });
    }
    return summary.tick(now, fresh, summarised, earliest);
  };
  return { detectors, summary, tick, sequence: () => seq };
}

const paged = (notices: readonly AlertNotice[]): AlertNotice[] => notices.filter((n) => n.summarisedBy === undefined);

test('ten streams of one gateway stalling together page one StreamsStalled with the count; each stall is recorded, summarised', () => {
  const p = plant(10);
  const out = p.tick(SILENCE + 1);
  const pages = paged(out.notices);
  assert.equal(pages.length, 1, `one page, got ${pages.map((n) => n.kind).join(',')}`);
  assert.equal(pages[0].kind, 'streams_stalled');
  assert.equal(pages[0].stream, STALL_SUMMARY_STREAM);
  assert.equal(pages[0].startsAt, 0, 'starts when the first of them went silent');
  assert.match(pages[0].detail ?? '', /^10 streams stopped sending within 0\.5 s of each other: gw1\/s0, gw1\/s1, gw1\/s2, gw1\/s3, gw1\/s4, and 5 more;/);
  const members = out.notices.filter((n) => n.kind === 'ingestion_stalled');
  assert.equal(members.length, 10, 'every stream still has its own stall alert');
  assert.ok(members.every((n) => n.summarisedBy === pages[0].fingerprint && n.status === 'firing'));
  assert.ok(p.detectors.every((d) => d.summarisedSince === 0), "the streams' saved alerts carry the mark");
});

test('a later stall while the summary fires joins it without a page; the summary resolves when the last stream sends again', () => {
  const p = plant(6);
  p.tick(SILENCE + 1, p.detectors.slice(0, 5));
  assert.ok(p.summary.active);
  const late = p.tick(SILENCE + 200, p.detectors);
  assert.deepEqual(paged(late.notices), [], 'the sixth joins silently');
  assert.equal(late.notices.length, 1);
  // Five come back; their resolves carry the mark (no page), the summary still fires for the sixth.
  const resolves = p.detectors.slice(0, 5).flatMap((d) => d.activity(5000));
  assert.ok(resolves.every((n) => n.status === 'resolved' && n.summarisedBy !== undefined));
  assert.deepEqual(paged(p.tick(5001).notices), []);
  assert.ok(p.summary.active, 'one stream still silent');
  // The sixth sends again (the five keep sending, so none of them stalls anew).
  for (const d of p.detectors) d.activity(6000);
  const [resolved] = paged(p.tick(6001).notices);
  assert.equal(resolved?.kind, 'streams_stalled');
  assert.equal(resolved?.status, 'resolved');
  assert.equal(resolved?.endsAt, 6001);
  assert.equal(p.summary.active, false);
});

test('two stalls, fewer than fireAfter: each pages alone once the group wait is over, not before', () => {
  const p = plant(2);
  assert.deepEqual(p.tick(SILENCE + 1).notices, [], 'held for the group wait');
  assert.deepEqual(p.tick(SILENCE + WAIT).notices, [], 'still waiting');
  const pages = p.tick(SILENCE + 1 + WAIT).notices;
  assert.deepEqual(pages.map((n) => `${n.kind}:${n.stream}:${n.summarisedBy ?? '-'}`), ['ingestion_stalled:gw1/s0:-', 'ingestion_stalled:gw1/s1:-']);
});

test('a held stall whose stream sends again pages before its resolve, so no receiver sees a resolve first', () => {
  const p = plant(1);
  p.tick(SILENCE + 1);
  const [resolved] = p.detectors[0].activity(SILENCE + 100);
  const [fired] = p.summary.before(resolved);
  assert.equal(fired?.status, 'firing');
  assert.equal(fired?.fingerprint, resolved.fingerprint);
  assert.deepEqual(p.tick(SILENCE + 1 + WAIT).notices, [], 'released once, not again');
});

test('stop: held stalls are sent (their streams save them as firing)', () => {
  const p = plant(2);
  p.tick(SILENCE + 1);
  assert.deepEqual(p.summary.flush().map((n) => n.stream), ['gw1/s0', 'gw1/s1']);
  assert.deepEqual(p.summary.flush(), []);
});

test('after a restart the summary is taken up from the restored stalls without a page, and resolves with them', () => {
  const before = plant(4);
  before.tick(SILENCE + 1);
  const saved = before.detectors.map((d) => JSON.parse(JSON.stringify(d.snapshot())) as unknown);
  const after = plant(4);
  after.detectors.forEach((d, i) => d.restore(saved[i]));
  const first = after.tick(SILENCE + 50);
  assert.deepEqual(first.notices, [], 'no page after the restart');
  assert.equal(first.adopted?.kind, 'streams_stalled', 'taken up, to re-assert to Alertmanager');
  assert.equal(first.adopted?.startsAt, 0);
  for (const d of after.detectors) d.activity(3000);
  const [resolved] = after.tick(3001).notices;
  assert.equal(resolved?.kind, 'streams_stalled');
  assert.equal(resolved?.status, 'resolved');
});

test('a restored state file with a summary mark that is not a string is refused, not half-applied', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: SILENCE, nextSequence: () => 1 }, 0);
  d.windowCompleted();
  d.check(SILENCE + 1);
  const snap = JSON.parse(JSON.stringify(d.snapshot())) as { firing: Record<string, unknown> };
  snap.firing['summarisedBy'] = 42;
  const fresh = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: SILENCE, nextSequence: () => 1 }, 0);
  assert.throws(() => fresh.restore(snap), /bad summary mark/);
  assert.equal(fresh.stalled, false);
});
