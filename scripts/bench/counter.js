#!/usr/bin/env node
// The baseline consumer: a bare mqtt.js subscriber that only counts messages (mqtt.js acknowledges QoS 1 after
// the handler returns). Same broker, topic filter, QoS and session settings as the daemon's source.
//   node scripts/bench/counter.js --url U --qos 0|1 --expect N [--timeout S]
// stdout: {"type":"ready"} once subscribed; {"type":"done", count, t_first, t10, t90, t_last} (seconds, this
// process's monotonic clock) when `expect` messages arrived or the timeout passed.
'use strict';
const { parseArgs } = require('node:util');
const mqtt = require('mqtt');

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// Exit when the benchmark that started this process is gone (killed outright: no one else would stop us).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

const { values: v } = parseArgs({
  options: { url: { type: 'string' }, qos: { type: 'string', default: '1' }, expect: { type: 'string' }, timeout: { type: 'string', default: '120' } },
});
const qos = Number(v.qos);
const expect = Number(v.expect);
const at10 = Math.ceil(expect * 0.1);
const at90 = Math.ceil(expect * 0.9);
const now = () => Number(process.hrtime.bigint()) / 1e9;

const client = mqtt.connect(v.url, { clientId: `bench-count-${process.pid}`, clean: false, protocolVersion: 4, keepalive: 60, reconnectPeriod: 0 });
let count = 0;
let bytes = 0;
const t = { t_first: null, t10: null, t90: null, t_last: null };
let finished = false;
const finish = () => {
  if (finished) return;
  finished = true;
  emit({ type: 'done', count, bytes, ...t });
  client.end(true, () => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
client.on('message', (_topic, payload) => {
  count++;
  bytes += payload.length;
  if (count === 1) t.t_first = now();
  if (count === at10) t.t10 = now();
  if (count === at90) t.t90 = now();
  if (count >= expect) {
    t.t_last = now();
    setImmediate(finish); // after mqtt.js has sent the last PUBACK
  }
});
client.once('connect', () => {
  client.subscribe('plant/+/+/telemetry', { qos }, (err) => {
    if (err) {
      process.stderr.write(`counter: subscribe failed: ${err.message}\n`);
      process.exit(1);
    }
    emit({ type: 'ready' });
  });
});
client.on('error', (err) => process.stderr.write(`counter: ${err.message}\n`));
setTimeout(finish, Number(v.timeout) * 1000).unref();
process.once('SIGTERM', finish);
