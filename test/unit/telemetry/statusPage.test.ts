import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { esc, sparkline } from '../../../src/telemetry/html';
import { StatusModel } from '../../../src/telemetry/status';
import { renderStatusPage } from '../../../src/telemetry/statusPage';
import { notice } from './fixtures';

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
  const streams = html.slice(html.indexOf('<h2>Streams'), html.indexOf('<h2>Rejected'));
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
