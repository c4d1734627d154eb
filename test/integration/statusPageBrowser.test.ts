// The status page as an operator's browser shows it (issues 6 and 12): a real daemon scores three pumps from a
// real Mosquitto, one of them with a fault, and a fourth pump has sent fewer samples than a window; headless
// Chromium (Debian's, driven by playwright-core) opens `/` and the DOM must list every stream (the fourth with
// its window fill), the active alert of the faulty pump and its episode in the alert history; the operator
// labels the episode through the page's form (a wrong token first) and the page shows the label and precision. The screenshot is
// kept in test-artifacts/status-page.png (gitignored) for a human to look at.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { pumpPayload } from '../../src/simulator/signals';
import { ensurePackage } from '../helpers/ensurePackage';
import { DaemonProcess, ROOT, pollUntil, publishAll, pumpConfig, pumpSeries, simAssets, topicOf } from '../helpers/faults';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = 'status-browser-admin-0123456789';
const SCREENSHOT = path.join(ROOT, 'test-artifacts', 'status-page.png');
const T0 = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;

let dir: string;
let mosquitto: Mosquitto;
let daemon: DaemonProcess | undefined;
let publisher: MqttPublisher | undefined;
let browser: Browser | undefined;

/** The cell texts of each data row (rows with td cells) of the table `selector`. */
async function tableRows(page: Page, selector: string): Promise<string[][]> {
  const rows = page.locator(`${selector} tr:has(td)`);
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) out.push((await rows.nth(i).locator('td').allInnerTexts()).map((t) => t.trim()));
  return out;
}

async function labelsOf(d: DaemonProcess): Promise<{ stream: string; label: string; who: string }[]> {
  return ((await (await fetch(`${d.base}/api/v1/feedback`)).json()) as { feedback: { stream: string; label: string; who: string }[] }).feedback;
}

before(async () => {
  ensurePackage(CHROMIUM, 'chromium');
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-status-browser-'));
  mosquitto = await startMosquitto();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await publisher?.close().catch(() => undefined);
  await daemon?.stop();
  await mosquitto?.close();
  await rm(dir, { recursive: true, force: true });
});

test('headless Chromium shows every stream, a new stream\'s window fill, the active alert and the alert history', async () => {
  const httpPort = await freePort();
  const configFile = path.join(dir, 'config.yaml');
  await writeFile(configFile, pumpConfig({ httpPort, stateDir: path.join(dir, 'var'), mqttUrl: mosquitto.url, clientId: 'anomalyd-status-browser', adminToken: ADMIN_TOKEN }));
  daemon = new DaemonProcess(configFile, httpPort, dir);
  const d = daemon;
  await d.ready();
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'status-browser-publisher' });
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const messages = ['pump1', 'pump2', 'pump3'].flatMap((asset, i) =>
    // pump2 gets a fault (every value x4) over its last 100 samples; the others stay normal.
    pumpSeries(seeds[i], T0, 300, asset === 'pump2' ? [[200, 300]] : []).map((s) => ({ topic: topicOf(asset), payload: pumpPayload(s) })),
  );
  // pump4 has just started sending: 12 samples of a 30-sample window.
  messages.push(...pumpSeries(seeds[0], T0, 12).map((s) => ({ topic: topicOf('pump4'), payload: pumpPayload(s) })));
  await publishAll(publisher, messages, 100);
  await pollUntil('the alert of pump2', () => d.metric('anomalyd_alerts_firing'), (v) => v >= 1);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const response = await page.goto(`${d.base}/`);
  assert.equal(response?.status(), 200);
  assert.equal(await page.title(), 'anomalyd status');

  const streams = await tableRows(page, '#streams');
  assert.deepEqual(streams.map((r) => r[0]).sort(), ['line1/pump1', 'line1/pump2', 'line1/pump3', 'line1/pump4']);
  const pump2 = streams.find((r) => r[0] === 'line1/pump2');
  assert.match(pump2?.[4] ?? '', /^firing/, `pump2 is shown firing: ${JSON.stringify(pump2)}`);
  for (const r of streams.filter((s) => s[0] === 'line1/pump1' || s[0] === 'line1/pump3')) assert.equal(r[4], 'normal', `${r[0]} is shown normal`);
  assert.ok(await page.locator('#streams svg').count() >= 4, 'each stream has its sparkline');
  const pump4 = streams.find((r) => r[0] === 'line1/pump4');
  assert.match(pump4?.[4] ?? '', /^filling 12\/30 samples, first score in ~\d+s$/, `pump4 is shown filling: ${JSON.stringify(pump4)}`);
  const bar = page.locator('#streams tr', { hasText: 'line1/pump4' }).locator('progress.fill');
  assert.ok(await bar.isVisible(), 'the fill bar is drawn');
  assert.deepEqual([await bar.getAttribute('value'), await bar.getAttribute('max')], ['12', '30']);

  const alerts = await tableRows(page, '#alerts');
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  assert.equal(alerts[0][0], 'line1/pump2');
  assert.equal(alerts[0][1], 'anomaly');
  assert.ok(await page.locator('#alerts').isVisible());
  assert.match(await page.locator('h2', { hasText: 'Active alerts' }).innerText(), /Active alerts \(1\)/);

  // The alert history: Started, Ended, Duration, Stream, Alert, Severity, Peak score / threshold, Top channels.
  const episodes = await tableRows(page, '#episodes');
  assert.equal(episodes.length, 1, JSON.stringify(episodes));
  const [started, ended, , stream, alertname, severity, peak, channels] = episodes[0];
  assert.equal(stream, 'line1/pump2');
  assert.equal(alertname, 'AnomalyDetected');
  assert.equal(ended, 'firing');
  assert.match(severity, /^(warning|critical)$/);
  assert.ok(Date.parse(started) >= T0 + 200_000, `started within the fault: ${started}`);
  const [peakScore, threshold] = peak.split(' / ').map(Number);
  assert.ok(peakScore > threshold, `peak ${peak} over the threshold`);
  assert.match(channels, /^\w+ \d+%/);
  assert.ok(await page.locator('#episodes').isVisible());

  assert.equal(episodes[0][8], 'label', 'an unlabelled episode offers its labelling form');
  assert.equal(streams.find((r) => r[0] === 'line1/pump2')?.[5], '–', 'no precision before any label');

  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`status page screenshot: ${SCREENSHOT}`);

  // The operator labels the episode from the page: its form, a wrong token first (nothing saved), then the admin token.
  await page.locator('#episodes a', { hasText: 'label' }).click();
  assert.equal(await page.title(), 'Label an alert - anomalyd');
  assert.match(await page.locator('dl').innerText(), /line1\/pump2/);
  await page.locator('input[value="false_positive"]').check();
  await page.locator('textarea[name="note"]').fill('valve test run');
  await page.locator('input[name="admin_token"]').fill('not-the-admin-token-000');
  await page.locator('button[type="submit"]').click();
  assert.match(await page.locator('p.bad').innerText(), /^Not saved: unauthorized/);
  assert.equal((await labelsOf(d)).length, 0, 'a wrong token changes nothing');
  await page.goBack();
  await page.locator('input[value="false_positive"]').check();
  await page.locator('input[name="admin_token"]').fill(ADMIN_TOKEN);
  await page.locator('button[type="submit"]').click();
  assert.match(await page.locator('p.ok').innerText(), /^Saved: false positive/);
  const labels = await labelsOf(d);
  assert.deepEqual(labels.map((l) => [l.stream, l.label, l.who]), [['line1/pump2', 'false_positive', 'admin']]);
  await page.locator('a', { hasText: 'Back to the status page' }).click();
  const labelled = await tableRows(page, '#episodes');
  assert.match(labelled[0][8], /^false positive \(admin\) relabel$/);
  assert.equal((await tableRows(page, '#streams')).find((r) => r[0] === 'line1/pump2')?.[5], '0 of 1 right (0 %)');
  assert.ok(!(await page.content()).includes(ADMIN_TOKEN), 'the token is never written into a page');
});
