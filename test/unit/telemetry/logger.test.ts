import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, redactor } from '../../../src/telemetry/logger';

test('the original signature still works and filters by level', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) }, { component: 'x' });
  log.debug('Hidden');
  log.info('Shown', { n: 1, note: 'two words' });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /INFO  Shown component=x n=1 note="two words"$/);
});

test('secret values are removed from messages and fields, in text and JSON, in children too', () => {
  const lines: string[] = [];
  const secret = 's3cr"et-token';
  for (const format of ['text', 'json'] as const) {
    const log = createLogger({ level: 'debug', format, write: (l) => lines.push(l), redact: [secret, ''] });
    log.warn(`Delivery to https://user:${secret}@hook failed`, { detail: `Bearer ${secret}`, n: 3 });
    log.child({ url: `x?key=${secret}` }).error('Failed');
  }
  assert.equal(lines.length, 4);
  for (const l of lines) {
    assert.ok(!l.includes('s3cr'), l);
    assert.ok(l.includes('[REDACTED]'), l);
  }
  const parsed = JSON.parse(lines[2]) as Record<string, unknown>;
  assert.equal(parsed.msg, 'Delivery to https://user:[REDACTED]@hook failed');
  assert.equal(parsed.detail, 'Bearer [REDACTED]');
  assert.equal(parsed.n, 3);
});

test('named fields are always redacted, whatever their value', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l), redactFields: ['Password'] });
  log.info('Connecting', { password: 'hunter2', user: 'ops' });
  const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(parsed.password, '[REDACTED]');
  assert.equal(parsed.user, 'ops');
});

test('a longer secret containing a shorter one is removed whole', () => {
  assert.equal(redactor(['abc', 'abcdef'])('x abcdef y abc'), 'x [REDACTED] y [REDACTED]');
  assert.equal(redactor([])('abc'), 'abc');
});

test('setLevel and redactAlso on the root reach the children created before (config reload)', () => {
  const lines: string[] = [];
  const root = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) });
  const child = root.child({ component: 'sink.webhook.a' });
  child.debug('hidden');
  root.setLevel('debug');
  child.debug('shown');
  root.redactAlso(['new-secret-42']);
  child.info('error talking to https://user:new-secret-42@host/');
  assert.equal(lines.length, 2);
  assert.match(lines[0], /shown/);
  assert.doesNotMatch(lines[1], /new-secret-42/);
  assert.match(lines[1], /\[REDACTED\]/);
});

test('control and bidi characters in fields and messages are escaped, in text and JSON: one line, read as it is', () => {
  // A topic as an attacker could publish it: a forged second line, a terminal escape, a bidi override, C1 NEL.
  const topic = 'plant/a\nINFO  forged\x1b[31m/\u202eevil\u2066/\u0085x';
  const lines: string[] = [];
  for (const format of ['text', 'json'] as const) {
    const log = createLogger({ level: 'debug', format, write: (l) => lines.push(l) });
    log.warn(`Rejected ${topic}`, { topic, detail: 'tab\there\u200f', plain: 'a/b' });
  }
  for (const line of lines) {
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/, JSON.stringify(line));
  }
  assert.match(lines[0], / topic="plant\/a\\nINFO  forged\\u001b\[31m\/\\u202eevil\\u2066\/\\u0085x" /);
  assert.match(lines[0], / plain=a\/b$/);
  const parsed = JSON.parse(lines[1]) as Record<string, unknown>;
  assert.equal(parsed.topic, topic, 'JSON readers get the exact topic back');
  assert.equal(parsed.msg, `Rejected ${topic}`);
  assert.equal(parsed.detail, 'tab\there\u200f');
});
