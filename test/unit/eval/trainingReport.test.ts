import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTrainingReport, type TrainingReportData } from '../../../src/eval/trainingReport';
import { inside, panelsOf } from '../../helpers/svgPanels';

function data(over: Partial<TrainingReportData> = {}): TrainingReportData {
  return {
    modelName: 'pump-ae',
    stream: 'pump1',
    channels: ['flow', 'pressure'],
    windowSize: 4,
    hop: 2,
    layerSizes: [8, 4, 2],
    loss: 'mse',
    noise: 'gaussian std 0.1',
    lossHistory: [1, 0.5, 0.3, 0.35],
    valLossHistory: [1.2, 0.6, 0.4, 0.45],
    threshold: 0.25,
    calibrationMethod: 'pot',
    backend: 'tensorflow',
    trainingSeconds: 12.345,
    nWindows: 1000,
    calibrationErrors: [0.1, 0.12, 0.15, 0.2, 0.11, 0.3],
    examples: [
      { input: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], reconstruction: [0.1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65], channels: 2, score: 0.01 },
      { input: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1], reconstruction: [0.1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.5], channels: 2, score: 0.9, label: 'fault' },
    ],
    ...over,
  };
}

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

/** The value cell of a summary row. */
function summary(html: string, key: string): string | undefined {
  const m = new RegExp(`<tr><th>${key}</th><td>([^<]*)</td></tr>`).exec(html);
  return m?.[1];
}

void test('renders a self-contained HTML document with three kinds of plots', () => {
  const html = renderTrainingReport(data());
  assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.equal(count(html, /<svg /g), 6, 'loss plot + histogram + 2 examples of 2 channel panels');
  assert.equal(count(html, /<svg /g), count(html, /<\/svg>/g));
  assert.equal(count(html, /<script/gi), 0);
  assert.equal(count(html, /(?:src|href)=/g), 0, 'no external assets');
  assert.match(html, /best epoch 3/, 'best epoch = lowest validation loss, 1-based');
  assert.match(html, /threshold 0\.25 \(pot\)/);
  assert.match(html, />validation loss</, 'legend');
  assert.match(html, />epoch</, 'x axis label');
  assert.match(html, /6 clean windows, 1 above the threshold/);
  assert.match(html, /fault: score 0\.9 \(above threshold\)/);
  assert.match(html, /score 0\.01 \(below threshold\)/);
  assert.match(html, /<span class="swatch" style="border-top:2px solid #1f77b4"><\/span>input<span class="swatch" style="border-top:2px dashed #555"><\/span>reconstruction/);
});

void test('every channel of an example is drawn in its own panel on the [0, 1] axis, input and reconstruction', () => {
  const html = renderTrainingReport(
    data({
      channels: ['rpm', 'pressure_bar', 'flow'],
      transforms: ['none', 'none', 'demean'],
      examples: [
        {
          // Scaled values as the model sees them, one out of range (drawn at the edge, never outside the plot).
          input: [0.9, 0.1, 0.5, 0.95, 0.12, 0.4, 1.2, 0.2, 0.6, 0.8, 0.05, 0.5],
          reconstruction: [0.9, 0.1, 0.5, 0.9, 0.1, 0.45, 0.92, 0.12, 0.55, 0.85, 0.1, 0.5],
          channels: 3,
          score: 0.2,
        },
      ],
    }),
  );
  const panels = panelsOf(html).filter((p) => /^(rpm|pressure_bar|flow)/.test(p.title));
  assert.deepEqual(panels.map((p) => p.title), ['rpm', 'pressure_bar', 'flow (demean)']);
  for (const [c, panel] of panels.entries()) {
    const name = ['rpm', 'pressure_bar', 'flow'][c];
    assert.deepEqual(panel.series.map((s) => s.name), [`${name} input`, `${name} reconstruction`]);
    assert.equal(panel.yTicks[0], '0');
    assert.equal(panel.yTicks[panel.yTicks.length - 1], '1', `${name}: the axis is [0, 1]`);
    for (const s of panel.series) {
      assert.equal(s.points.length, 4, `${s.name}: every step drawn`);
      assert.ok(inside(panel, s), `${s.name} lies in the plot area: ${JSON.stringify(s.points)}`);
    }
  }
  // 1.2 is clipped to the top edge; 0 would be the bottom edge.
  const rpm = panels[0].series[0];
  assert.equal(Math.min(...rpm.points.map((p) => p.y)), panels[0].area.y);
});

void test('summary table holds the training facts', () => {
  const html = renderTrainingReport(data());
  assert.equal(summary(html, 'Model'), 'pump-ae');
  assert.equal(summary(html, 'Stream'), 'pump1');
  assert.equal(summary(html, 'Channels'), '2: flow, pressure');
  assert.equal(summary(html, 'Window size / hop'), '4 / 2 samples');
  assert.equal(summary(html, 'Layer sizes'), '8 → 4 → 2');
  assert.equal(summary(html, 'Epochs run'), '4');
  assert.equal(summary(html, 'Best epoch'), '3');
  assert.equal(summary(html, 'Final loss'), '0.35');
  assert.equal(summary(html, 'Final validation loss'), '0.45');
  assert.equal(summary(html, 'Threshold'), '0.25');
  assert.equal(summary(html, 'Calibration method'), 'pot');
  assert.equal(summary(html, 'Backend'), 'tensorflow');
  assert.equal(summary(html, 'Training time'), '12.35 s');
  assert.equal(summary(html, 'Training windows'), '1000');
  assert.equal(summary(html, 'Noise'), 'gaussian std 0.1');
});

void test('an explicit best epoch wins over the lowest validation loss', () => {
  const html = renderTrainingReport(data({ bestEpoch: 2 }));
  assert.equal(summary(html, 'Best epoch'), '2');
  assert.match(html, /best epoch 2/);
});

void test('escapes every inserted text', () => {
  const evil = '<script>alert("x")</script>';
  const html = renderTrainingReport(
    data({
      modelName: evil,
      stream: `a&b'"`,
      channels: [evil, 'p'],
      calibrationMethod: evil,
      noise: evil,
      examples: [{ input: [0.1, 0.2], reconstruction: [0.1, 0.2], channels: 2, score: 0, label: evil }],
    }),
  );
  assert.equal(count(html, /<script/gi), 0);
  assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'));
  assert.equal(summary(html, 'Stream'), 'a&#38;b&#39;&#34;');
});

void test('handles one epoch, no validation loss and no examples', () => {
  const html = renderTrainingReport(data({ lossHistory: [0.5], valLossHistory: [], examples: [], calibrationErrors: [0.2] }));
  assert.equal(count(html, /<svg /g), 2);
  assert.equal(summary(html, 'Epochs run'), '1');
  assert.equal(summary(html, 'Best epoch'), '1');
  assert.equal(summary(html, 'Final validation loss'), '–');
  assert.match(html, /No example windows were recorded\./);
  assert.match(html, /<circle /, 'a single epoch is drawn as a dot');
  assert.doesNotMatch(html, /NaN/);
});

void test('handles no epochs and no calibration errors without NaN coordinates', () => {
  const html = renderTrainingReport(data({ lossHistory: [], valLossHistory: [], examples: [], calibrationErrors: [] }));
  assert.equal(summary(html, 'Best epoch'), '–');
  assert.equal(count(html, />no data</g), 2);
  assert.doesNotMatch(html, /NaN|Infinity/);
});

void test('draws at most 6 examples', () => {
  const ex = { input: [0.1, 0.2, 0.3], reconstruction: [0.1, 0.2, 0.25], channels: 1, score: 0.1 };
  const html = renderTrainingReport(data({ channels: ['ecg'], examples: Array.from({ length: 8 }, () => ex) }));
  assert.equal(count(html, /<svg /g), 8, 'loss + histogram + 6 examples');
  assert.match(html, /2 more not shown/);
  assert.equal(panelsOf(html).filter((p) => p.title === 'ecg').length, 6);
});

void test('a malformed example is reported, not thrown', () => {
  const html = renderTrainingReport(data({ examples: [{ input: [1, 2, 3], reconstruction: [1, 2], channels: 2, score: 0 }] }));
  assert.match(html, /Example 1 is malformed \(3 input and 2 reconstruction values for 2 channel\(s\)\)/);
});

void test('uses a log loss axis when losses span decades', () => {
  const html = renderTrainingReport(data({ lossHistory: [10, 1, 0.1, 0.01], valLossHistory: [] }));
  assert.match(html, /mse loss \(log scale\)/);
  assert.match(html, />0\.01</);
  assert.match(html, />10</);
  const lin = renderTrainingReport(data());
  assert.doesNotMatch(lin, /log scale/);
});
