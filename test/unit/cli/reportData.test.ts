// report.html from a real trained model whose channels differ by orders of magnitude (rpm about 1,500, bearing
// temperature about 60, pressure about 5): every channel's example series is drawn inside its panel and fills a
// visible part of it, where raw units on one axis left all but rpm a flat line.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { buildReportData } from '../../../src/cli/reportData';
import { createRng } from '../../../src/core/random';
import type { Window } from '../../../src/core/types';
import { renderTrainingReport } from '../../../src/eval/trainingReport';
import type { TrainedDetector } from '../../../src/model/fitDetector';
import { inside, panelsOf, verticalSpan } from '../../helpers/svgPanels';
import { trainTinyDetector } from '../../helpers/tinyDetector';

const CHANNELS = ['rpm', 'bearing_temp_c', 'pressure_bar'];
const LEVEL = [1500, 60, 5];
const SWING = [40, 4, 0.5];
const SIZE = 16;

function windows(n: number, seed: number): Window[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const phase = rng() * 2 * Math.PI;
    const values = new Float32Array(SIZE * CHANNELS.length);
    for (let t = 0; t < SIZE; t++) {
      for (let c = 0; c < CHANNELS.length; c++) values[t * CHANNELS.length + c] = LEVEL[c] + SWING[c] * Math.sin(phase + (2 * Math.PI * t) / SIZE + c);
    }
    return { stream: 's', start: i * SIZE * 1000, end: (i * SIZE + SIZE - 1) * 1000, size: SIZE, channels: CHANNELS.length, values, completeness: 1 };
  });
}

let trained: TrainedDetector;
let data: Window[];

before(async () => {
  data = windows(120, 3);
  trained = await trainTinyDetector(data, {
    name: 'mixed-units',
    stream: { id: 's', channels: CHANNELS },
    window: { size: SIZE, hop: SIZE, maxGapMs: 5000, minCompleteness: 0.9 },
  });
});

test('every channel of every example is drawn inside its [0, 1] panel and visibly, input and reconstruction', () => {
  const report = buildReportData(trained.detector, trained, data);
  assert.ok(report.examples.length >= 3, `${report.examples.length} examples`);
  for (const ex of report.examples) {
    assert.ok([...ex.input, ...ex.reconstruction].every((v) => v >= 0 && v <= 1), 'examples are in the model\'s scaled units');
  }
  assert.equal(trained.detector.clippedValues, 0);
  const html = renderTrainingReport(report);
  const panels = panelsOf(html).filter((p) => CHANNELS.includes(p.title));
  assert.equal(panels.length, report.examples.length * CHANNELS.length, 'a panel per channel per example');
  for (const panel of panels) {
    assert.equal(panel.yTicks[0], '0');
    assert.equal(panel.yTicks[panel.yTicks.length - 1], '1');
    const [input, reconstruction] = panel.series;
    assert.deepEqual([input?.name, reconstruction?.name], [`${panel.title} input`, `${panel.title} reconstruction`]);
    for (const s of panel.series) {
      assert.equal(s.points.length, SIZE, `${s.name}: every step`);
      assert.ok(inside(panel, s), `${s.name} inside the plot area`);
    }
    // A full swing of the channel spans most of the axis whatever its units (about 0.9 with the 5 % margin).
    assert.ok(verticalSpan(panel, input) > 0.6, `${panel.title} input spans ${verticalSpan(panel, input).toFixed(2)} of the axis`);
  }
});
