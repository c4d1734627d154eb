// Sensor checks: a channel frozen on one value raises SensorFlatline, repeated spikes raise SensorSpikes; noise,
// steps and gaps do not; both resolve; a reload carries the state over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../../src/core/random';
import { SensorCheck, type SensorCheckOptions } from '../../../src/core/sensorCheck';
import type { AlertNotice } from '../../../src/core/alert';

const SEED = 5;

function check(o: Partial<SensorCheckOptions> = {}): SensorCheck {
  let seq = 0;
  return new SensorCheck({ stream: 's', model: 'm', channels: ['a', 'b'], labels: {}, flatlineSamples: 10, spikeFactor: 8, spikeCount: 3, spikeWindowSamples: 60, nextSequence: () => ++seq, ...o });
}

/** Noisy two-channel samples; `edit(i, values)` changes sample i. */
function feed(c: SensorCheck, n: number, edit: (i: number, v: number[]) => void = () => undefined, from = 0): AlertNotice[] {
  const rng = createRng(SEED);
  const out: AlertNotice[] = [];
  for (let i = from; i < from + n; i++) {
    const v = [10 + Math.sin(i / 50) + 0.05 * (rng() - 0.5), 5 + 0.05 * (rng() - 0.5)];
    edit(i, v);
    out.push(...c.observe(i * 1000, v));
  }
  return out;
}

test(`noise, a step and a gap raise nothing (seed ${SEED})`, () => {
  const c = check();
  const out = feed(c, 2000, (i, v) => {
    if (i >= 1000) v[0] += 3; // a step moves away from one neighbour only
    if (i === 1500) v[1] = NaN;
  });
  assert.deepEqual(out, []);
});

test('a frozen channel fires SensorFlatline after flatline_samples and resolves when it moves', () => {
  const c = check();
  const out = feed(c, 300, (i, v) => {
    if (i >= 100 && i < 200) v[1] = 5.01234;
  });
  assert.equal(out.length, 2);
  assert.equal(out[0].kind, 'sensor_flatline');
  assert.equal(out[0].status, 'firing');
  assert.equal(out[0].startsAt, 109_000, 'the tenth identical value');
  assert.deepEqual(out[0].topChannels.map((t) => t.channel), ['b']);
  assert.equal(out[1].status, 'resolved');
  assert.equal(out[1].endsAt, 200_000);
  assert.equal(out[1].fingerprint, out[0].fingerprint);
});

test('three spikes within the window fire SensorSpikes on that channel; it resolves once they age out', () => {
  const c = check();
  const out = feed(c, 400, (i, v) => {
    if (i === 100 || i === 110 || i === 130) v[0] *= 3;
  });
  assert.equal(out.length, 2);
  assert.equal(out[0].kind, 'sensor_spikes');
  assert.equal(out[0].startsAt, 131_000, 'judged when the sample after the third spike arrives');
  assert.deepEqual(out[0].topChannels.map((t) => t.channel), ['a']);
  assert.equal(out[1].status, 'resolved');
  assert.equal(out[1].endsAt, 160_000, 'the first spike left the 60-sample window');
});

test('two spikes are not enough; 0 disables both checks', () => {
  assert.deepEqual(feed(check(), 300, (i, v) => {
    if (i === 100 || i === 110) v[0] *= 3;
  }), []);
  const off = check({ flatlineSamples: 0, spikeFactor: 0 });
  assert.equal(off.enabled, false);
  assert.deepEqual(feed(off, 300, (i, v) => {
    v[1] = 1;
    if (i % 10 === 0) v[0] *= 3;
  }), []);
});

test('reconfigured keeps a firing alert, so it still resolves', () => {
  const c = check();
  const first = feed(c, 150, (i, v) => {
    if (i >= 100) v[1] = 7;
  });
  assert.equal(first.length, 1);
  const next = c.reconfigured({ ...{ stream: 's', model: 'm', channels: ['a', 'b'], labels: {}, nextSequence: () => 99 }, flatlineSamples: 20, spikeFactor: 8, spikeCount: 3, spikeWindowSamples: 60 });
  const later = feed(next, 10, undefined, 150);
  assert.equal(later.length, 1);
  assert.equal(later[0].status, 'resolved');
  assert.equal(later[0].fingerprint, first[0].fingerprint);
});

test('checks off keep no per-channel history; turned on (reload or restart) they start one and still work', () => {
  const off = check({ flatlineSamples: 0, spikeFactor: 0 });
  const snapshot = JSON.parse(JSON.stringify(off.snapshot())) as { channels: unknown[]; state: unknown[] };
  assert.deepEqual([snapshot.channels, snapshot.state], [[], []], 'nothing kept per channel while off');
  for (const on of [off.reconfigured({ stream: 's', model: 'm', channels: ['a', 'b'], labels: {}, flatlineSamples: 10, spikeFactor: 8, spikeCount: 3, spikeWindowSamples: 60, nextSequence: () => 1 }), check()]) {
    on.restore(snapshot);
    const fired = feed(on, 30, (i, v) => {
      if (i >= 10) v[1] = 7;
    });
    assert.deepEqual(fired.map((n) => [n.kind, n.status]), [['sensor_flatline', 'firing']]);
  }
  // A firing alert of a check since turned off still travels through a snapshot (so it is resolved after a restart).
  const firing = check();
  feed(firing, 30, (i, v) => {
    if (i >= 10) v[1] = 7;
  });
  const turnedOff = firing.reconfigured({ stream: 's', model: 'm', channels: ['a', 'b'], labels: {}, flatlineSamples: 0, spikeFactor: 0, spikeCount: 3, spikeWindowSamples: 60, nextSequence: () => 1 });
  const restored = check({ flatlineSamples: 0, spikeFactor: 0 });
  restored.restore(JSON.parse(JSON.stringify(turnedOff.snapshot())));
  assert.deepEqual(restored.active().map((n) => n.kind), ['sensor_flatline']);
});
