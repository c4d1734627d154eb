// The training report as a person opens it (issue 12): `anomalyd train` (the built CLI) on a five-channel
// recording whose channels live on scales three orders of magnitude apart (speed at ~1,480 rpm, vibration at
// ~2 mm/s), then headless Chromium (Debian's, driven by playwright-core) opens report.html and measures what it
// drew: each example window has one panel per channel on the model's [0, 1] axis, every channel's input visibly
// moves in its panel and its reconstruction stays inside it (on one shared raw-units axis, everything but rpm
// was a flat line at 0). The screenshot is kept in test-artifacts/training-report.png (gitignored) for a human
// to look at.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { createRng, gaussian } from '../../src/core/random';
import { ROOT, runCli } from '../helpers/cli';
import { ensurePackage } from '../helpers/ensurePackage';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, 'test-artifacts', 'training-report.png');
const CHANNELS = ['discharge_pressure_bar', 'oil_temp_c', 'motor_current_a', 'vibration_mm_s', 'speed_rpm'];
/** Level and swing of each channel: every one follows a 30 s load cycle, on its own scale. */
const LEVEL = [7, 60, 40, 2, 1480];
const SWING = [0.3, 1.2, 3, 0.2, 10];

let dir: string;
let browser: Browser | undefined;

function recording(rows: number): string {
  const rng = createRng(5);
  const t0 = Date.UTC(2026, 0, 1) / 1000;
  const lines = [['timestamp', ...CHANNELS].join(',')];
  for (let i = 0; i < rows; i++) {
    const values = LEVEL.map((level, c) => level + SWING[c] * (Math.sin((2 * Math.PI * i) / 30 + c) + 0.05 * gaussian(rng)));
    lines.push([t0 + i, ...values.map((v) => v.toFixed(3))].join(','));
  }
  return lines.join('\n') + '\n';
}

const CONFIG = `csv: { time_unit: s }
defaults:
  window: { size: 30, hop: 10 }
  training: { encoder_units: [32], latent_units: 4, epochs: 20, patience: 0, seed: 3 }
  calibration: { method: percentile }
subscriptions:
  - topic: plant/line1/compressor1/telemetry
    stream: line1/compressor1
    decoder: json
    channels: [${CHANNELS.join(', ')}]
`;

before(async () => {
  ensurePackage(CHROMIUM, 'chromium');
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-report-browser-'));
  await writeFile(path.join(dir, 'compressor.csv'), recording(1500));
  await writeFile(path.join(dir, 'compressor.yaml'), CONFIG);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** What Chromium drew in one channel panel of an example window, in CSS pixels. */
interface DrawnPanel {
  title: string;
  plot: { top: number; bottom: number; height: number };
  ticks: string[];
  lines: { name: string; top: number; bottom: number; height: number }[];
}

test('report.html in Chromium: every channel of every example window moves visibly on its own [0, 1] panel', async () => {
  const trained = await runCli(dir, ['train', '-c', 'compressor.yaml', '--stream', 'line1/compressor1', '--input', 'compressor.csv', '--out', 'model']);
  assert.equal(trained.code, 0, trained.stderr);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const response = await page.goto(pathToFileURL(path.join(dir, 'model', 'report.html')).href);
  assert.ok(response?.ok(), 'report.html opens');
  const heading = page.locator('h2', { hasText: 'Example windows' });
  assert.ok(await heading.isVisible(), 'the example windows section is shown');

  // Every panel whose title is a channel: its plot area (the white rect), y tick labels, and each drawn line.
  const panels: DrawnPanel[] = [];
  const extent = async (l: Locator): Promise<{ top: number; bottom: number; height: number }> => {
    const b = await l.boundingBox();
    assert.ok(b, 'drawn on the page');
    return { top: b.y, bottom: b.y + b.height, height: b.height };
  };
  for (const channel of CHANNELS) {
    const svgs = page.locator(`svg[aria-label="${channel}"]`);
    for (let i = 0; i < (await svgs.count()); i++) {
      const svg = svgs.nth(i);
      const paths = svg.locator('path');
      const lines: DrawnPanel['lines'] = [];
      for (let k = 0; k < (await paths.count()); k++) lines.push({ name: (await paths.nth(k).locator('title').textContent()) ?? '', ...(await extent(paths.nth(k))) });
      panels.push({ title: channel, plot: await extent(svg.locator('rect[fill="#fff"]')), ticks: await svg.locator('text[text-anchor="end"]').allTextContents(), lines });
    }
  }

  const examples = panels.filter((p) => p.title === CHANNELS[0]).length;
  assert.ok(examples >= 1, 'example windows are drawn');
  for (const channel of CHANNELS) assert.equal(panels.filter((p) => p.title === channel).length, examples, `${channel}: a panel in every example window`);
  for (const p of panels) {
    assert.equal(p.ticks[0], '0', `${p.title}: the axis starts at 0`);
    assert.equal(p.ticks.at(-1), '1', `${p.title}: the axis ends at 1`);
    assert.deepEqual(p.lines.map((l) => l.name), [`${p.title} input`, `${p.title} reconstruction`]);
    // A 30 s load cycle fills each window: every channel's input swings over a good part of its scaled range.
    const input = p.lines[0];
    assert.ok(input.height >= 0.3 * p.plot.height, `${input.name} moves visibly: ${input.height.toFixed(1)} of ${p.plot.height.toFixed(1)} px`);
    for (const l of p.lines) assert.ok(l.top >= p.plot.top - 1 && l.bottom <= p.plot.bottom + 1, `${l.name} stays inside its panel`);
  }

  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await heading.scrollIntoViewIfNeeded();
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`training report screenshot: ${SCREENSHOT}`);
});
