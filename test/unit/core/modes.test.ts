import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModeCondition, ModeConditionError, modeConditionProblem } from '../../../src/core/modeCondition';
import { ModeTracker } from '../../../src/core/modeTracker';

const CH = ['motor_current_a', 'flow_m3h', 'pressure_bar'];

test('conditions: comparisons, and binds tighter than or, parentheses override it', () => {
  const off = compileModeCondition('motor_current_a < 2', CH);
  assert.equal(off([1.9, 0, 0]), true);
  assert.equal(off([2, 0, 0]), false);
  const high = compileModeCondition('flow_m3h >= 40 and pressure_bar > 3', CH);
  assert.equal(high([10, 40, 3.1]), true);
  assert.equal(high([10, 40, 3]), false);
  assert.equal(high([10, 39.9, 5]), false);
  // a or b and c = a or (b and c)
  const mixed = compileModeCondition('motor_current_a == 0 or flow_m3h > 1 and pressure_bar > 1', CH);
  assert.equal(mixed([0, 0, 0]), true);
  assert.equal(mixed([5, 2, 0]), false);
  assert.equal(mixed([5, 2, 2]), true);
  const grouped = compileModeCondition('(motor_current_a == 0 or flow_m3h > 1) and pressure_bar > 1', CH);
  assert.equal(grouped([0, 0, 0]), false);
  assert.equal(grouped([0, 0, 2]), true);
  for (const [op, x, want] of [['<=', 2, true], ['>', 2, false], ['!=', 2, false], ['!=', 3, true], ['==', 2, true]] as const) {
    assert.equal(compileModeCondition(`motor_current_a ${op} 2`, CH)([x, 0, 0]), want, `${x} ${op} 2`);
  }
  assert.equal(compileModeCondition('motor_current_a<-1.5e0', CH)([-2, 0, 0]), true, 'no spaces, a signed number with an exponent');
});

test('conditions: a missing (NaN) value makes its comparison false, != included', () => {
  for (const op of ['<', '<=', '>', '>=', '==', '!=']) assert.equal(compileModeCondition(`flow_m3h ${op} 1`, CH)([0, NaN, 0]), false, op);
  assert.equal(compileModeCondition('flow_m3h < 1 or motor_current_a < 1', CH)([0, NaN, 0]), true, 'the other side still counts');
});

test('conditions: errors name the column and what was expected', () => {
  const cases: [string, number, RegExp][] = [
    ['motor_current < 2', 1, /'motor_current' is not a channel of the stream \(motor_current_a, flow_m3h, pressure_bar\)/],
    ['motor_current_a < ', 19, /expected a number after '<', got the end of the condition/],
    ['motor_current_a 2', 17, /expected a comparison/],
    ['motor_current_a < 2 and', 24, /expected a channel name or '\('/],
    ['motor_current_a < 2 flow_m3h > 1', 21, /expected 'and', 'or' or the end/],
    ['(motor_current_a < 2', 21, /expected '\)' to close the '\(' at column 1/],
    ['motor_current_a = 2', 17, /unexpected character '='/],
    ['motor_current_a < abc', 19, /expected a number after '<', got 'abc'/],
    ['', 1, /expected a channel name/],
  ];
  for (const [text, column, message] of cases) {
    assert.throws(() => compileModeCondition(text, CH), (err: unknown) => err instanceof ModeConditionError && err.column === column && message.test(err.message), text);
    assert.match(modeConditionProblem(text, CH) ?? '', new RegExp(`^at column ${column}: `));
  }
  assert.equal(modeConditionProblem('flow_m3h > 1', CH), null);
});

test('mode tracker: the first mode applies at once, a new one after hold consecutive observations', () => {
  const t = new ModeTracker(3);
  assert.equal(t.current, null);
  assert.equal(t.observe('normal'), 'normal');
  assert.equal(t.observe('high'), null);
  assert.equal(t.observe('high'), null);
  assert.equal(t.current, 'normal');
  assert.equal(t.observe('high'), 'high');
  assert.equal(t.current, 'high');
  // A run broken by the current mode starts over.
  assert.equal(t.observe('normal'), null);
  assert.equal(t.observe('high'), null);
  assert.equal(t.observe('normal'), null);
  assert.equal(t.observe('normal'), null);
  assert.equal(t.observe('normal'), 'normal');
  // A run broken by a third mode starts over for that one.
  assert.equal(t.observe('off'), null);
  assert.equal(t.observe('high'), null);
  assert.equal(t.observe('off'), null);
  assert.equal(t.current, 'normal');
});

test('mode tracker: flapping at a boundary never changes the mode; hold 1 follows every change', () => {
  const t = new ModeTracker(3, 'normal');
  for (let i = 0; i < 100; i++) assert.equal(t.observe(i % 2 === 0 ? 'high' : 'normal'), null);
  assert.equal(t.current, 'normal');
  const one = new ModeTracker(1, 'normal');
  assert.equal(one.observe('off'), 'off');
  assert.equal(one.observe('normal'), 'normal');
  assert.throws(() => new ModeTracker(0), RangeError);
});

test('a recorded series in one mode: only windows wholly in that mode, cut afresh at each change (train/calibrate --mode)', async () => {
  const { windowsFromSeriesIn } = await import('../../../src/core/modeSeries');
  const rows = 120;
  const ts = new Float64Array(rows);
  const values = new Float32Array(rows);
  // 0-39 low, 40-79 high, 80-119 low.
  for (let r = 0; r < rows; r++) {
    ts[r] = r * 1000;
    values[r] = r >= 40 && r < 80 ? 100 : 10;
  }
  const stream = { id: 's', channels: ['a'] };
  const opts = { size: 10, hop: 5, maxGapMs: 5000, minCompleteness: 0.9 };
  const classify = (v: ArrayLike<number>): string => ((v[0]) > 50 ? 'high' : 'normal');
  const high = windowsFromSeriesIn(stream, ts, values, opts, { classify, hold: 3, keep: 'high' }).flatMap((e) => (e.kind === 'window' ? [e.window] : []));
  // The change applies at the third high sample (42 s) and back at the third low one (82 s): as in the daemon,
  // the two low samples before the change back are still in mode high (the price of the hysteresis).
  assert.deepEqual(high.map((w) => w.start), [42_000, 47_000, 52_000, 57_000, 62_000, 67_000, 72_000]);
  assert.ok(high.every((w) => w.start >= 42_000 && w.end <= 81_000));
  const normal = windowsFromSeriesIn(stream, ts, values, opts, { classify, hold: 3, keep: 'normal' }).flatMap((e) => (e.kind === 'window' ? [e.window] : []));
  assert.ok(normal.every((w) => w.end < 42_000 || w.start >= 82_000));
  assert.equal(windowsFromSeriesIn(stream, ts, values, opts).length, 23, 'no mode: every window');
});
