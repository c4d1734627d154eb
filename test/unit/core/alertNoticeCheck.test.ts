// A firing notice read back from the state file keeps its top channels' readings; a damaged reading is dropped,
// not half-applied, and the notice survives without it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reviveFiringNotice } from '../../../src/core/alertNoticeCheck';
import { notice as alertNotice } from '../../helpers/notices';

const notice = alertNotice({
  fingerprint: 'fp', stream: 's', model: 'm', severity: 'warning', startsAt: 1000, score: 2, threshold: 1, pValue: 1e-3, sequence: 4,
  topChannels: [
    { channel: 'a', share: 0.7, reading: { observed: 92.1, expected: 61.4, trainingMin: 55, trainingMax: NaN } },
    { channel: 'b', share: 0.2, reading: { observed: 'x', expected: 1 } as never },
    { channel: 'c', share: 0.1 },
  ],
});

test('readings survive the JSON round trip; an unknown bound comes back as NaN, a damaged reading is left out', () => {
  const revived = reviveFiringNotice(JSON.parse(JSON.stringify(notice)), 'anomaly', 's');
  if (typeof revived === 'string') assert.fail(revived);
  const [a, b, c] = revived.topChannels;
  assert.deepEqual({ ...a?.reading, trainingMax: String(a?.reading?.trainingMax) }, { observed: 92.1, expected: 61.4, trainingMin: 55, trainingMax: 'NaN' });
  assert.deepEqual(b, { channel: 'b', share: 0.2 });
  assert.deepEqual(c, { channel: 'c', share: 0.1 });
});
