import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMode, ModeRouter, modeTopicFilter } from '../../../src/sources/modeTopics';

const enc = (s: string): Uint8Array => Buffer.from(s);

test('mode payloads: the whole payload or a dotted field, mapped through values; anything else is refused with the reason', () => {
  const values = { '0': 'off', '1': 'normal', '2': 'high' };
  assert.deepEqual(decodeMode(enc('1'), { topic: 't', values }), { ok: true, mode: 'normal' });
  assert.deepEqual(decodeMode(enc(' high \n'), { topic: 't' }), { ok: true, mode: 'high' });
  assert.deepEqual(decodeMode(enc('{"plc":{"state":2}}'), { topic: 't', field: 'plc.state', values }), { ok: true, mode: 'high' });
  assert.deepEqual(decodeMode(enc('{"state":"off"}'), { topic: 't', field: 'state' }), { ok: true, mode: 'off' });
  const refused = (payload: string | Uint8Array, o: Parameters<typeof decodeMode>[1]): string => {
    const r = decodeMode(typeof payload === 'string' ? enc(payload) : payload, o);
    assert.equal(r.ok, false);
    return r.ok ? '' : `${r.reason}: ${r.detail}`;
  };
  assert.match(refused('7', { topic: 't', values }), /^unknown_mode: mode value "7" is not one of modes.values \(0, 1, 2\)/);
  assert.match(refused('{"state":1', { topic: 't', field: 'state', values }), /^invalid_json/);
  assert.match(refused('{"other":1}', { topic: 't', field: 'state', values }), /^unknown_mode: mode field 'state' is missing/);
  assert.match(refused('{"state":{"x":1}}', { topic: 't', field: 'state' }), /^unknown_mode/);
  assert.match(refused('not a mode!', { topic: 't' }), /^unknown_mode: .* is not a mode name/);
  assert.match(refused(new Uint8Array([0xff, 0xfe]), { topic: 't' }), /^invalid_utf8/);
  assert.match(refused('__proto__', { topic: 't', values }), /^unknown_mode/, 'no prototype lookups');
});

test('mode router: subscribes the topic with + for each name and names the stream; a stream entry wins over its subscription', () => {
  assert.equal(modeTopicFilter('plant/{line}/{asset}/state'), 'plant/+/+/state');
  const router = new ModeRouter([
    {
      subscription: 0,
      stream: '{line}/{asset}',
      modes: [
        { topic: 'plant/{line}/{asset}/mode', stream: 'l1/p2' },
        { topic: 'plant/{line}/{asset}/state', values: { '0': 'off' }, except: ['l1/p2'] },
      ],
    },
  ]);
  assert.deepEqual(router.filters.sort(), ['plant/+/+/mode', 'plant/+/+/state']);
  const t = router.resolve('plant/l1/p1/state');
  assert.equal(t?.stream, 'l1/p1');
  assert.deepEqual(t?.decode(enc('0')), { ok: true, mode: 'off' });
  assert.equal(router.resolve('plant/l1/p2/state'), null, 'this stream takes its mode from its own entry');
  assert.equal(router.resolve('plant/l1/p2/mode')?.stream, 'l1/p2');
  assert.equal(router.resolve('plant/l1/p3/mode'), null, 'the entry is for one stream');
  assert.equal(router.resolve('plant/l1/p1/telemetry'), null);
});
