import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signature, verifySignature } from '../../../src/sinks/webhookSignature';

const SECRET = 'k3y';
const BODY = '{"version":"4","status":"firing","alerts":[{"labels":{"stream":"line1/pump1"}}]}';
const NOW = Date.parse('2026-11-27T01:00:00Z');

test('the reference verifier accepts a good signature, on string or raw bytes', () => {
  const header = signature(SECRET, BODY, NOW);
  assert.deepEqual(verifySignature(SECRET, header, BODY, NOW + 10_000), { ok: true, timestamp: NOW / 1000 });
  assert.equal(verifySignature(SECRET, header, Buffer.from(BODY), NOW).ok, true);
});

test('it rejects tampered bodies, wrong keys, old or future timestamps and malformed headers', () => {
  const header = signature(SECRET, BODY, NOW);
  const reason = (r: ReturnType<typeof verifySignature>): string => (r.ok ? 'ok' : r.reason);
  assert.match(reason(verifySignature(SECRET, header, BODY.replace('firing', 'resolved'), NOW)), /does not match/);
  assert.match(reason(verifySignature('other', header, BODY, NOW)), /does not match/);
  assert.match(reason(verifySignature(SECRET, header, BODY, NOW + 301_000)), /outside the 300 s tolerance/);
  assert.match(reason(verifySignature(SECRET, header, BODY, NOW - 301_000)), /outside/);
  assert.equal(verifySignature(SECRET, header, BODY, NOW + 299_000).ok, true);
  for (const bad of [undefined, '', 'v1=abc', `t=${NOW / 1000}`, header.replace('v1=', 'v2='), header.slice(0, -2)]) {
    assert.match(reason(verifySignature(SECRET, bad, BODY, NOW)), /malformed/);
  }
  // Re-signing a tampered body with a new timestamp needs the key: the old HMAC does not fit the new t.
  const t2 = NOW / 1000 + 5;
  const forged = `t=${t2},${header.split(',')[1]}`;
  assert.match(reason(verifySignature(SECRET, forged, BODY, NOW)), /does not match/);
});
