// The readiness 'ingest' check: /readyz fails when, for a whole window, messages kept arriving and none was
// accepted, naming the top rejection reason; never on a single bad message, a short bad burst, or silence. Driven
// through the real events and status model (what the daemon wires) with a manual clock and a probe every 10 s.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { createEvents, type TelemetryEvents } from '../../../src/telemetry/events';
import { createMetrics } from '../../../src/telemetry/metrics';
import { ingestingCheck, runChecks, type CheckOutcome } from '../../../src/telemetry/readiness';
import { testContext } from '../../helpers/context';

const WINDOW_MS = 60_000;
const PROBE_MS = 10_000;

interface Rig {
  readonly clock: ManualClock;
  readonly events: TelemetryEvents;
  /** One probe after `ms` (default one probe period). */
  probe(ms?: number): Promise<CheckOutcome>;
  good(): void;
  bad(reason?: 'invalid_json' | 'unknown_stream'): void;
}

function rig(windowMs = WINDOW_MS): Rig {
  const clock = new ManualClock(1_700_000_000_000);
  const tc = testContext('telemetry', clock);
  const events = createEvents(tc.ctx.log, createMetrics({ maxStreamLabels: 10, defaultMetrics: false }), { clock });
  const check = ingestingCheck(() => events.status.ingestCounters(), clock, windowMs);
  return {
    clock,
    events,
    probe: async (ms = PROBE_MS) => {
      clock.advance(ms);
      const [outcome] = await runChecks([check], 1000);
      return outcome;
    },
    good: () => {
      events.messageReceived('plant/a', 10);
      events.samplesAccepted('plant/a', 1);
    },
    bad: (reason = 'invalid_json') => {
      events.messageReceived('plant/a', 10);
      events.messageRejected(reason, 'plant/a', 'bad payload');
    },
  };
}

/** Probes every 10 s for `ms`, `each` called before each probe; the outcomes. */
async function run(r: Rig, ms: number, each: () => void): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (let t = 0; t < ms; t += PROBE_MS) {
    each();
    out.push(await r.probe());
  }
  return out;
}

void test('every message rejected for a whole window: not ready, naming the top rejection reason; one good message makes it ready again', async () => {
  const r = rig();
  await r.probe();
  assert.deepEqual((await run(r, 60_000, () => r.good())).map((o) => o.ok), Array(6).fill(true), 'ingesting');
  const outcomes = await run(r, 90_000, () => {
    r.bad('invalid_json');
    r.bad('invalid_json');
    r.bad('unknown_stream');
  });
  // Failing is first seen at the first probe (t = 10 s); a window later (t = 70 s) it is reported.
  assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, true, true, true, false, false, false]);
  const failed = outcomes[6];
  assert.equal(failed.name, 'ingest');
  assert.match(failed.detail, /^21 messages received in the last 60 s and none accepted: top rejection reason 'invalid_json' \(14;/);
  r.good();
  assert.equal((await r.probe()).ok, true, 'one accepted message ends it');
});

void test('a single bad message, or a bad burst shorter than the window, never fails it; neither does silence', async () => {
  const r = rig();
  await r.probe();
  // One bad message, then silence for five minutes.
  r.bad();
  const lone = await run(r, 300_000, () => undefined);
  assert.ok(lone.every((o) => o.ok), JSON.stringify(lone.filter((o) => !o.ok)));
  // A 50 s burst of bad messages, then silence.
  let t = 0;
  const burst = await run(r, 300_000, () => {
    if ((t += PROBE_MS) <= 50_000) r.bad();
  });
  assert.ok(burst.every((o) => o.ok), JSON.stringify(burst.filter((o) => !o.ok)));
  // Bad messages with a good one every 50 s: something is ingested within every window.
  let n = 0;
  const mixed = await run(r, 300_000, () => (++n % 5 === 0 ? r.good() : r.bad()));
  assert.ok(mixed.every((o) => o.ok), JSON.stringify(mixed.filter((o) => !o.ok)));
});

void test('failing then silent for a window: ready again (the stall alert covers silence); failing again needs a new window', async () => {
  const r = rig();
  await r.probe();
  const failing = await run(r, 80_000, () => r.bad());
  assert.equal(failing.at(-1)?.ok, false);
  const quiet = await run(r, 60_000, () => undefined);
  assert.equal(quiet.at(-1)?.ok, true, 'no message for a window');
  const again = await run(r, 60_000, () => r.bad());
  assert.deepEqual(again.map((o) => o.ok), [true, true, true, true, true, true]);
  assert.equal((await run(r, 10_000, () => r.bad()))[0].ok, false);
});

void test('messages the pipeline refused (no rejection counted) fail it too, saying so; messages of another shard count as handled', async () => {
  const r = rig();
  await r.probe();
  const refused = await run(r, 70_000, () => r.events.messageReceived('plant/a', 10));
  assert.equal(refused.at(-1)?.ok, false);
  assert.match(refused.at(-1)?.detail ?? '', /none accepted: no rejection was counted, so the pipeline refused them/);
  const otherShard = await run(r, 70_000, () => {
    r.events.messageReceived('plant/b', 10);
    r.events.messageOtherShard('plant/b');
  });
  assert.ok(otherShard.every((o) => o.ok));
});

void test('a window of 0 turns the check off', async () => {
  const r = rig(0);
  const outcomes = await run(r, 300_000, () => r.bad());
  assert.ok(outcomes.every((o) => o.ok));
});
