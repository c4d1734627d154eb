// The per-stream alert and sensor-check options share one hidden class across streams. Built by spreading the
// settings and adding the stream's fields, V8 gave each object a map and descriptor array of its own: 20,000 of
// them in a heap snapshot of 10,000 streams (about 8 MB). V8's %HaveSameMap needs --allow-natives-syntax, so
// the check runs in a child node process on the built module.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

const DETECTION = path.resolve(__dirname, '..', '..', '..', 'src', 'app', 'detection.js');

const CHILD = `
const { alertOptions, sensorCheckOptions } = require(${JSON.stringify(DETECTION)});
const alerting = { k: 3, n: 5, reset_windows: 4, reset_ratio: 0.9, keep_firing_for_ms: 30000, severity_critical_p_value: 1e-4,
  insufficient_windows: 3, flap_max_starts: 4, flap_period_ms: 3600000, flap_quiet_ms: 900000, top_channels: 3,
  flatline_samples: 30, spike_factor: 8, spike_count: 3, spike_window_samples: 60, stall_after_ms: 300000 };
const channels = ['a', 'b'];
const built = { alert: [], sensor: [] };
for (let i = 0; i < 200; i++) {
  const id = { stream: 'line/p' + i, model: 'pump', labels: { line: 'line', asset: 'p' + i }, nextSequence: () => i };
  built.alert.push(alertOptions(alerting, id));
  built.sensor.push(sensorCheckOptions(alerting, id, channels));
}
const shared = (list) => list.filter((o) => %HaveSameMap(o, list[list.length - 1])).length;
process.stdout.write(JSON.stringify({ alert: shared(built.alert), sensor: shared(built.sensor) }));
`;

test('per-stream alert and sensor-check options of 200 streams share one hidden class each', () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', CHILD], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { alert: 200, sensor: 200 });
});
