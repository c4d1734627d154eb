import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { esc, sparkline } from '../../../src/telemetry/html';
import type { StreamFillSource } from '../../../src/telemetry/status';
import { StatusModel } from '../../../src/telemetry/status';
import { fillText, renderStatusPage } from '../../../src/telemetry/statusPage';
import { notice } from '../../helpers/notices';

const EVIL = '<script>alert("x")</script>&\'';

function model(): { clock: ManualClock; status: StatusModel } {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const status = new StatusModel(clock);
  status.setMqtt(true, 'mqtt://127.0.0.1:1883');
  status.recordModel('pump', '3', 'wasm', 'models/pump');
  for (let i = 0; i < 20; i++) status.recordScore(EVIL, 'pump', i / 20, 0.7, i / 20 > 0.7);
  status.recordScore('line1/ok', 'pump', 0.1, 0.7, false);
  status.recordAlert(notice({ stream: EVIL, topChannels: [{ channel: '<b>vib</b>', share: 0.75 }] }));
  status.recordRejection('invalid_json', 'plant/<x>/t', 'Unexpected token < in JSON');
  clock.advance(3_725_000);
  return { clock, status };
}

test('the page refreshes itself and shows uptime, backend, MQTT and rates', () => {
  const html = renderStatusPage(model().status.snapshot(), { version: '0.1.0' });
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.match(html, /<dt>Uptime<\/dt><dd>1h 2m 5s<\/dd>/);
  assert.match(html, /<dt>Backend<\/dt><dd>wasm<\/dd>/);
  assert.match(html, /<dt>MQTT<\/dt><dd><span class="ok">connected<\/span> for 1h 2m 5s/);
  assert.match(html, /<dt>Alerts firing<\/dt><dd><span class="bad">1<\/span>/);
  assert.doesNotMatch(html, /<script/i);
});

test('every inserted text is escaped', () => {
  const html = renderStatusPage(model().status.snapshot());
  assert.ok(!html.includes(EVIL));
  assert.ok(!html.includes('<b>vib</b>'));
  assert.ok(html.includes(esc(EVIL)));
  assert.ok(html.includes('&lt;b&gt;vib&lt;/b&gt; 75%'));
  assert.ok(html.includes('plant/&lt;x&gt;/t'));
  assert.equal(esc(EVIL), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
});

test('streams table: firing stream first, with an SVG sparkline and threshold line per stream', () => {
  const html = renderStatusPage(model().status.snapshot());
  const streams = html.slice(html.indexOf('<h2>Streams'), html.indexOf('<h2>Alert history'));
  assert.equal(streams.match(/<svg class="spark"/g)?.length, 2);
  assert.equal(streams.match(/<line class="threshold"/g)?.length, 2);
  assert.ok(streams.indexOf(esc(EVIL)) < streams.indexOf('line1/ok'), 'firing first');
  assert.match(streams, /firing \(critical\)/);
  assert.match(streams, /<td class="ok">normal<\/td>/);
  const rejected = html.slice(html.indexOf('<h2>Rejected'));
  assert.match(rejected, /<td>invalid_json<\/td><td class="n">1<\/td>/);
});

test('sparkline: points scale into the box, the threshold is a line, gaps break the line', () => {
  const svg = sparkline([0, 1, NaN, 2], 1, { width: 104, height: 24 });
  assert.equal(svg.match(/<polyline/g)?.length, 2, 'NaN splits the line');
  // top = max(2, 1) * 1.1 = 2.2; y(1) = 24 - 2 - (1 / 2.2) * 20 = 12.9
  assert.match(svg, /<line class="threshold" x1="2" x2="102" y1="12.9" y2="12.9"/);
  assert.match(svg, /points="2.0,22.0 35.3,12.9"/);
  assert.match(svg, /<circle cx="102.0" cy="3.8" r="2.5" fill="#d62728"\/>/, 'last point over the threshold is red');
  assert.match(sparkline([0.1], 1), /fill="#1f77b4"/);
  assert.doesNotMatch(sparkline([], null), /<polyline|<line/);
});

test('a stream that sends samples but has no full window yet is listed with its fill and time to its first score', () => {
  const clock = new ManualClock(1_000_000);
  const status = new StatusModel(clock);
  const fill: StreamFillSource = { stream: 'line1/new', model: 'pump', lastSampleAt: 1_000_000, buffered: 12, size: 30, stepsUntilWindow: 18, samplePeriodMs: 1000, modelReady: true };
  status.provideStreamFill(() => [fill]);
  clock.advance(500);
  const html = renderStatusPage(status.snapshot());
  assert.match(html, /<h2>Streams \(1\)<\/h2>/);
  assert.doesNotMatch(html, /No stream has sent data yet/);
  assert.match(html, /<progress class="fill" value="12" max="30"><\/progress>12\/30 samples, first score in ~18s/);
  assert.match(html, /<td class="warn">filling <span class="fill muted">/);
});

test('fill text: unknown period, model not ready, overdue, no data since start', () => {
  const base = { buffered: 5, size: 30, nextWindowAt: null, lastSampleAt: 100, modelReady: true };
  assert.equal(fillText(base, 200, true), '5/30 samples, first score after 25 more');
  assert.equal(fillText({ ...base, modelReady: false }, 200, true), '5/30 samples, model not ready');
  assert.equal(fillText({ ...base, nextWindowAt: 150 }, 200, false), '5/30 samples, next score due (waiting for samples)');
  assert.equal(fillText({ ...base, buffered: 30, modelReady: false }, 200, true), 'window full; model not ready (loading or learning)');
  assert.equal(fillText({ ...base, lastSampleAt: null }, 200, true), 'no data since start');
});

test('alert history table: newest first, firing or ended, peak score and top channels', () => {
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const status = new StatusModel(clock);
  const t0 = Date.UTC(2024, 0, 1) - 3_600_000;
  status.recordAlert(notice({ fingerprint: 'a', stream: 'line1/a', startsAt: t0, score: 0.9, threshold: 0.5 }));
  status.recordAlert(notice({ fingerprint: 'a', stream: 'line1/a', status: 'resolved', startsAt: t0, endsAt: t0 + 90_000 }));
  status.recordAlert(notice({ fingerprint: 'b', stream: 'line1/b', startsAt: t0 + 600_000, severity: 'warning' }));
  const html = renderStatusPage(status.snapshot());
  assert.match(html, /<h2>Alert history \(last 2\)<\/h2>/);
  const table = html.slice(html.indexOf('<table id="episodes">'));
  assert.ok(table.indexOf('line1/b') < table.indexOf('line1/a'), 'newest first');
  assert.match(table, /<td class="t">2023-12-31T23:00:00Z<\/td><td class="t">2023-12-31T23:01:30Z<\/td><td class="n">1m 30s<\/td><td>line1\/a<\/td><td>AnomalyDetected<\/td><td class="bad">critical<\/td><td class="n">0.9 \/ 0.5<\/td><td>vib_x 60%, current 30%<\/td>/);
  assert.match(table, /<td class="t"><span class="bad">firing<\/span><\/td>/);
  const empty = renderStatusPage(new StatusModel(clock).snapshot());
  assert.match(empty, /<h2>Alert history \(last 0\)<\/h2><p class="muted">No alert yet.<\/p>/);
});

test('links start at the external URL when one is set; ?stream= highlights the stream', () => {
  const { status } = model();
  const html = renderStatusPage(status.snapshot(), { externalUrl: 'https://plant.example/anomalyd/' }, { focus: 'line1/ok' });
  assert.match(html, /<a href="https:\/\/plant.example\/anomalyd\/metrics">\/metrics<\/a>/);
  assert.match(html, /<a href="https:\/\/plant.example\/anomalyd\/api\/v1\/alerts">/);
  assert.match(html, /<tr class="focus"><td>line1\/ok<\/td>/);
  assert.match(renderStatusPage(status.snapshot()), /<a href="\/metrics">\/metrics<\/a>/);
});

test('open maintenance windows are listed, escaped, and an alert a window holds says so; none open: no section', () => {
  const { clock, status } = model();
  assert.doesNotMatch(renderStatusPage(status.snapshot()), /Maintenance windows open/);
  const now = clock.now();
  status.provideMaintenance(() => [{ id: 'valve-swap', reason: EVIL, scope: 'line1/*; line=line1', start: now - 60_000, end: now + 3_600_000, origin: 'api' }]);
  status.recordAlert(notice({ stream: 'line1/held', fingerprint: 'held-1', maintenance: 'valve-swap' }));
  const html = renderStatusPage(status.snapshot());
  assert.match(html, /<h2>Maintenance windows open \(1\)<\/h2>/);
  assert.match(html, /<td>valve-swap<\/td><td>&lt;script&gt;/);
  assert.match(html, /<td>line1\/\*; line=line1<\/td>/);
  assert.match(html, /\(in 1h 0m 0s\)<\/span><\/td><td>operator API<\/td>/);
  assert.match(html, /held by maintenance valve-swap/);
  assert.ok(!html.includes(EVIL));
});

test('the Sinks row names each sink, the connection of those that keep one, and what waits; none provided: no row', () => {
  const { status } = model();
  assert.doesNotMatch(renderStatusPage(status.snapshot()), /<dt>Sinks<\/dt>/);
  status.provideSinks(() => [
    { name: 'influx', buffered: 0 },
    { name: 'mqtt_out', buffered: 12, connected: false },
    { name: `webhook.${EVIL}`, buffered: 0 },
  ]);
  const html = renderStatusPage(status.snapshot());
  assert.match(html, /<dt>Sinks<\/dt><dd>influx, mqtt_out <span class="bad">disconnected<\/span> <span class="muted">\(12 waiting\)<\/span>, webhook\.&lt;script/);
  status.provideSinks(() => [{ name: 'mqtt_out', buffered: 0, connected: true }]);
  assert.match(renderStatusPage(status.snapshot()), /<dt>Sinks<\/dt><dd>mqtt_out <span class="ok">connected<\/span><\/dd>/);
});
