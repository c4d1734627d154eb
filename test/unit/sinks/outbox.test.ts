import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AlertNotice } from '../../../src/core/alert';
import { Outbox, idempotencyKey } from '../../../src/sinks/outbox';
import { notice as alertNotice } from '../../helpers/notices';

/** Odd sequences fire, even ones resolve a minute later. */
function notice(sequence: number): AlertNotice {
  const firing = sequence % 2 === 1;
  return alertNotice({
    fingerprint: 'fedcba9876543210', status: firing ? 'firing' : 'resolved', severity: 'warning', endsAt: firing ? null : 1_700_000_060_000,
    score: 0.5, threshold: 0.1, pValue: 0.001, topChannels: [{ channel: 'a', share: 1 }], sequence,
  });
}

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'outbox-'));

describe('Outbox', () => {
  it('persists pending notices in order and forgets finished ones across reopen', async () => {
    const dir = tmp();
    const a = new Outbox({ dir, receiver: 'ops', maxNotices: 100 });
    assert.deepEqual(await a.open(), { pending: 0, corrupt: 0 });
    for (let s = 1; s <= 4; s++) a.add(notice(s));
    a.markDone(idempotencyKey(notice(2)), 'delivered');
    await a.close();
    const b = new Outbox({ dir, receiver: 'ops', maxNotices: 100 });
    assert.deepEqual(await b.open(), { pending: 3, corrupt: 0 });
    assert.deepEqual(
      b.entries().map((e) => e.key),
      ['fedcba9876543210-1', 'fedcba9876543210-3', 'fedcba9876543210-4'],
    );
    assert.deepEqual(b.first()?.notice, notice(1));
    // open() compacted the file: only the three pending records remain.
    assert.equal(readFileSync(b.file, 'utf8').trim().split('\n').length, 3);
    await b.close();
  });

  it('skips and counts a torn last line and a damaged line, keeping the rest', async () => {
    const dir = tmp();
    const a = new Outbox({ dir, receiver: 'ops', maxNotices: 100 });
    await a.open();
    for (let s = 1; s <= 3; s++) a.add(notice(s));
    await a.close();
    const lines = readFileSync(a.file, 'utf8').split('\n');
    // Flip one character inside the second record's JSON: its checksum no longer matches.
    lines[1] = (lines[1] ?? '').replace('"sequence":2', '"sequence":9');
    writeFileSync(a.file, lines.join('\n'));
    appendFileSync(a.file, '0123456789abcdef {"op":"add","key":"tor');
    const b = new Outbox({ dir, receiver: 'ops', maxNotices: 100 });
    assert.deepEqual(await b.open(), { pending: 2, corrupt: 2 });
    assert.deepEqual(
      b.entries().map((e) => e.notice.sequence),
      [1, 3],
    );
    await b.close();
    const c = new Outbox({ dir, receiver: 'ops', maxNotices: 100 });
    assert.deepEqual(await c.open(), { pending: 2, corrupt: 0 }, 'the rewrite dropped the damaged lines');
    await c.close();
  });

  it('stays bounded: the oldest notices are evicted and reported', async () => {
    const dir = tmp();
    const box = new Outbox({ dir, receiver: 'ops', maxNotices: 2 });
    await box.open();
    assert.deepEqual(box.add(notice(1)), []);
    assert.deepEqual(box.add(notice(2)), []);
    assert.deepEqual(
      box.add(notice(3)).map((e) => e.key),
      ['fedcba9876543210-1'],
    );
    assert.equal(box.add(notice(3)).length, 0, 'a duplicate key is ignored');
    assert.equal(box.size, 2);
    await box.close();
  });

  it('compacts once finished records dominate the file', async () => {
    const dir = tmp();
    const box = new Outbox({ dir, receiver: 'ops', maxNotices: 1000, compactAfter: 10 });
    await box.open();
    for (let s = 1; s <= 9; s++) {
      box.add(notice(s));
      box.markDone(idempotencyKey(notice(s)), 'delivered');
    }
    await box.flush();
    const before = statSync(box.file).size;
    assert.equal(readFileSync(box.file, 'utf8').trim().split('\n').length, 18);
    box.add(notice(10));
    box.markDone(idempotencyKey(notice(10)), 'delivered');
    box.add(notice(11));
    await box.flush();
    const text = readFileSync(box.file, 'utf8');
    assert.ok(statSync(box.file).size < before);
    assert.equal(text.trim().split('\n').length, 1);
    assert.match(text, /"key":"fedcba9876543210-11"/);
    assert.equal(box.bytes, statSync(box.file).size);
    await box.close();
  });
});
