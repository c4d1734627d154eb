// events.brokerMessagesDropped: the counter follows what the broker dropped while watched, one WARN per
// interval names the cause and the fix, drops from before anomalyd watched (or of unknown start) are logged
// but not counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { createEvents } from '../../../src/telemetry/events';
import { createMetrics } from '../../../src/telemetry/metrics';
import { testContext } from '../../helpers/context';
import { parseExposition, sampleValue } from './expo';

test('broker drops: counted, one WARN per interval with the count, cause and fix', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const metrics = createMetrics({ maxStreamLabels: 10, defaultMetrics: false });
  const tc = testContext('telemetry', clock);
  const events = createEvents(tc.ctx.log, metrics, { clock, summaryIntervalMs: 60_000 });
  const value = async (): Promise<number> => sampleValue(parseExposition(await metrics.text()), 'anomalyd_broker_dropped_messages_total', {});
  assert.equal(await value(), 0, 'the series exists from the start');

  events.brokerMessagesDropped(259, 259, 'before_watch');
  assert.equal(await value(), 0, 'drops from before anomalyd watched are not counted');
  assert.equal(tc.logs.length, 1);
  assert.equal(tc.logs[0].level, 'warn');
  assert.match(tc.logs[0].msg, /before anomalyd read its count/);

  events.brokerMessagesDropped(40, 299, 'new');
  events.brokerMessagesDropped(10, 309, 'new');
  assert.equal(await value(), 50);
  const warns = tc.logs.filter((l) => l.msg === 'The MQTT broker dropped messages.');
  assert.equal(warns.length, 1, 'the second within the interval is held back');
  assert.equal(warns[0].level, 'warn');
  assert.equal(warns[0].fields?.dropped, 40);
  assert.match(String(warns[0].fields?.likely_cause), /max_queued_messages.*slow or disconnected consumer/);
  assert.match(String(warns[0].fields?.fix), /raise max_queued_messages/);

  clock.advance(60_000);
  events.brokerMessagesDropped(1, 310, 'new');
  const after = tc.logs.filter((l) => l.msg === 'The MQTT broker dropped messages.');
  assert.equal(after.length, 2);
  assert.equal(after[1].fields?.dropped, 11, 'the held-back drops are summed into the next line');
  assert.equal(await value(), 51);

  events.brokerMessagesDropped(500, 500, 'unknown_start');
  assert.equal(await value(), 51, 'a change whose start is unknown is not counted');
  assert.match(tc.logs[tc.logs.length - 1].msg, /how many of its count are new is unknown/);
  assert.equal(tc.logs[tc.logs.length - 1].level, 'warn');
});
