import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, formatTick, histogram, linePlot, niceTicks } from '../../../src/eval/svg';

void test('niceTicks picks round steps', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 4, 3), [1, 2, 3, 4]);
  assert.deepEqual(niceTicks(-0.15, 0.25, 4), [-0.1, 0, 0.1, 0.2]);
  assert.deepEqual(niceTicks(2, 2), [2]);
  assert.deepEqual(niceTicks(NaN, 1), []);
});

void test('formatTick and escapeXml', () => {
  assert.equal(formatTick(0.30000000000000004), '0.3');
  assert.equal(formatTick(250000), '2.5e5');
  assert.equal(formatTick(0.0001), '1.0e-4');
  assert.equal(escapeXml(`<a href="x">&'`), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
});

void test('linePlot maps data to pixels and breaks lines at non-finite points', () => {
  const svg = linePlot({ series: [{ name: 's', y: [0, 1, NaN, 1, 0] }], width: 176, height: 170 });
  // Plot area: x 62..162 (width 100), y 26..126 (height 100); x domain 0..4, y domain 0..1.
  assert.match(svg, /<path d="M62 126L87 26M137 26L162 126"/);
  assert.doesNotMatch(svg, /class="legend"/, 'no legend for one series by default');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="176" height="170"/);
});

void test('linePlot draws markers, legends and dashed series', () => {
  const svg = linePlot({
    series: [
      { name: 'a', y: [1, 2] },
      { name: 'b<', y: [2, 1], dashed: true },
    ],
    markers: [{ x: 1, label: 'best' }],
  });
  assert.match(svg, /class="legend"/);
  assert.match(svg, />b&#60;</);
  assert.match(svg, /stroke-dasharray="5 3"/);
  assert.match(svg, />best</);
});

void test('histogram counts values into bins and keeps an out-of-range marker visible', () => {
  const svg = histogram({ values: [0, 0.1, 0.2, 0.9, 0.95], bins: 2, markers: [{ x: 2, label: 'thr' }], width: 162, height: 170 });
  // Domain 0..2 (extended to the marker), 2 bins of width 1: counts [5, 0] -> one bar.
  assert.equal((svg.match(/<rect [^>]*fill-opacity/g) ?? []).length, 1);
  assert.match(svg, /<title>0 to 1: 5<\/title>/);
  assert.match(svg, /<line x1="148" y1="26" x2="148" y2="126"/, 'marker at the right edge');
  assert.match(svg, />thr</);
});
