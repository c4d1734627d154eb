import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock';
import { ConsoleSink, formatNotice } from '../../../src/sinks/console';
import { testContext } from '../../helpers/context';
import { notice } from '../../helpers/notices';

const firing = notice({
  fingerprint: '0123456789abcdef', severity: 'warning', startsAt: Date.parse('2024-05-01T12:00:00Z'), score: 0.0123, threshold: 0.004, pValue: 3.2e-4,
  topChannels: [{ channel: 'vib_x', share: 0.614 }, { channel: 'vib_y', share: 0.2 }], sequence: 3,
});

describe('ConsoleSink', () => {
  it('prints one readable line per transition, escalations marked', async () => {
    const lines: string[] = [];
    const clock = new ManualClock(Date.parse('2024-05-01T12:01:00Z'));
    const t = testContext('sink.console', clock);
    const sink = new ConsoleSink(t.ctx, { write: (line) => lines.push(line) });
    await sink.start();
    sink.writeAlert(firing);
    sink.writeAlert({ ...firing, severity: 'critical', pValue: 2e-7, sequence: 4 });
    sink.writeAlert({ ...firing, severity: 'critical', status: 'resolved', endsAt: Date.parse('2024-05-01T12:05:30Z'), score: 0.001, sequence: 5 });
    await sink.stop();
    assert.deepEqual(lines, [
      '2024-05-01T12:00:00.000Z FIRING    warning  line1/pump1  score 0.01230 > threshold 0.004000  p=3.2e-4  top: vib_x 61%, vib_y 20%\n',
      '2024-05-01T12:01:00.000Z ESCALATED critical line1/pump1  score 0.01230 > threshold 0.004000  p=2.0e-7  top: vib_x 61%, vib_y 20%\n',
      '2024-05-01T12:05:30.000Z RESOLVED  critical line1/pump1  score 0.001000 < threshold 0.004000  p=3.2e-4  top: vib_x 61%, vib_y 20%  (firing for 5m 30s)\n',
    ]);
    assert.equal(t.calls('sinkWritten').length, 3);
  });

  it('says what each top channel read, what the model expected and the training range', () => {
    const line = formatNotice({
      ...firing,
      topChannels: [
        { channel: 'bearing_temp_c', share: 0.7, reading: { observed: 92.1, expected: 61.4, trainingMin: 55, trainingMax: 70 } },
        { channel: 'vib_x', share: 0.2 },
      ],
    });
    assert.equal(
      line,
      '2024-05-01T12:00:00.000Z FIRING    warning  line1/pump1  score 0.01230 > threshold 0.004000  p=3.2e-4  top: bearing_temp_c 70%, vib_x 20%  bearing_temp_c read 92.1, expected 61.4 (training 55 to 70)',
    );
  });

  it('formats insufficient data and flapping', () => {
    assert.equal(
      formatNotice({ ...firing, kind: 'insufficient_data', topChannels: [] }),
      '2024-05-01T12:00:00.000Z FIRING    warning  line1/pump1  insufficient data: windows too incomplete to score',
    );
    assert.match(formatNotice({ ...firing, labels: { flapping: 'true' } }), /^\S+ FLAPPING  warning/);
  });
});
