import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, classifyStatus, describeFetchError, retryAfterMs, splitCredentials } from '../../../src/core/alertDelivery';
import { alertFingerprint, fnv1a64 } from '../../../src/core/alertFingerprint';
import { SequenceCounter } from '../../../src/core/alertSequence';
import { topShares } from '../../../src/core/alerting';

describe('alert fingerprints', () => {
  it('FNV-1a 64 matches the published test vectors', () => {
    assert.equal(fnv1a64(''), 'cbf29ce484222325');
    assert.equal(fnv1a64('a'), 'af63dc4c8601ec8c');
    assert.equal(fnv1a64('foobar'), '85944171f73967e8');
  });

  it('is 16 hex digits, stable, and differs by stream and kind', () => {
    const fp = alertFingerprint('line1/pump1', 'anomaly');
    assert.match(fp, /^[0-9a-f]{16}$/);
    assert.equal(alertFingerprint('line1/pump1', 'anomaly'), fp);
    assert.notEqual(alertFingerprint('line1/pump1', 'insufficient_data'), fp);
    assert.notEqual(alertFingerprint('line1/pump2', 'anomaly'), fp);
  });
});

describe('SequenceCounter', () => {
  it('continues from the persisted last value and never goes back', () => {
    const c = new SequenceCounter(41);
    assert.equal(c.next(), 42);
    c.advanceTo(10);
    assert.equal(c.next(), 43);
    c.advanceTo(100);
    assert.equal(c.next(), 101);
    assert.equal(c.last, 101);
    assert.throws(() => new SequenceCounter(-1), RangeError);
  });
});

describe('delivery policy', () => {
  it('classifies 2xx as delivered, 429 and 5xx as retry, other statuses as rejected', () => {
    const table = [200, 202, 204, 400, 401, 404, 408, 409, 422, 429, 500, 502, 503, 504, 301].map((s) => [s, classifyStatus(s)]);
    assert.deepEqual(table, [
      [200, 'delivered'],
      [202, 'delivered'],
      [204, 'delivered'],
      [400, 'rejected'],
      [401, 'rejected'],
      [404, 'rejected'],
      [408, 'rejected'],
      [409, 'rejected'],
      [422, 'rejected'],
      [429, 'retry'],
      [500, 'retry'],
      [502, 'retry'],
      [503, 'retry'],
      [504, 'retry'],
      [301, 'rejected'],
    ]);
  });

  it('backs off exponentially up to the cap, jitter within its band and never above the cap', () => {
    const policy = { baseMs: 100, capMs: 1000, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((a) => backoffDelay(a, policy)), [100, 200, 400, 800, 1000, 1000, 1000]);
    const jittered = { baseMs: 100, capMs: 1000, jitter: 0.2 };
    assert.equal(backoffDelay(1, jittered, () => 0), 80);
    assert.equal(backoffDelay(1, jittered, () => 1), 120);
    assert.equal(backoffDelay(5, jittered, () => 1), 1000);
    assert.equal(backoffDelay(5, jittered, () => 0), 800);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs('Wed, 01 May 2024 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs(null, now), null);
    assert.equal(retryAfterMs('soon', now), null);
  });

  it('turns URL credentials into a Basic header and describes errors without the URL', () => {
    assert.deepEqual(splitCredentials('https://hooks.example.com/x?a=1'), { url: 'https://hooks.example.com/x?a=1', authorization: null });
    const split = splitCredentials('https://ops:s%40cret@hooks.example.com/x');
    assert.equal(split.url, 'https://hooks.example.com/x');
    assert.equal(split.authorization, `Basic ${Buffer.from('ops:s@cret').toString('base64')}`);
    const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    assert.equal(describeFetchError(err), 'fetch failed (ECONNREFUSED)');
    assert.equal(describeFetchError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 'timed out');
  });
});

describe('topShares', () => {
  it('takes the largest shares, ties in channel order', () => {
    const shares = [
      { channel: 'x', share: 0.2 },
      { channel: 'y', share: 0.5 },
      { channel: 'z', share: 0.2 },
    ];
    assert.deepEqual(topShares(shares, 2), [
      { channel: 'y', share: 0.5 },
      { channel: 'x', share: 0.2 },
    ]);
    assert.deepEqual(topShares(shares, 0), []);
  });
});
