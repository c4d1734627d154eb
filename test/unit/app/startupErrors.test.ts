// Start-up failures name the config key and value behind the port or directory that did not work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStartupError, namingConfigKey } from '../../../src/app/startupErrors';

function sysError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

const HTTP = { key: 'http.port', value: 9464, hostKey: 'http.host', host: '127.0.0.1' };

void test('EADDRINUSE names the port key and value', () => {
  const m = describeStartupError(sysError('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:9464'), HTTP);
  assert.match(m ?? '', /^http\.port 9464 is in use on 127\.0\.0\.1: another process listens there; .*\(listen EADDRINUSE/);
});

void test('an address the machine does not have names the host key', () => {
  assert.match(describeStartupError(sysError('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL'), { ...HTTP, host: '10.9.9.9' }) ?? '', /^http\.host 10\.9\.9\.9 is not an address of this machine/);
});

void test('directory failures name state_dir', () => {
  const dir = { key: 'state_dir', value: '/srv/x' };
  assert.match(describeStartupError(sysError('ENOTDIR', 'ENOTDIR: not a directory'), dir) ?? '', /^state_dir \/srv\/x is not a directory/);
  assert.match(describeStartupError(sysError('EACCES', 'EACCES: permission denied'), dir) ?? '', /^state_dir \/srv\/x is not writable by this user/);
  assert.match(describeStartupError(sysError('EROFS', 'EROFS'), dir) ?? '', /read-only file system/);
});

void test('errors without a system code pass through unchanged; a hint is appended', async () => {
  assert.equal(describeStartupError(new Error('boom'), HTTP), undefined);
  const plain = new Error('boom');
  await assert.rejects(namingConfigKey(HTTP, () => Promise.reject(plain)), (err) => err === plain);
  await assert.rejects(
    namingConfigKey({ ...HTTP, hint: 'see mqtt.embedded_broker' }, () => Promise.reject(sysError('EADDRINUSE', 'x'))),
    { message: /^http\.port 9464 is in use.*; see mqtt\.embedded_broker$/ },
  );
  assert.equal(await namingConfigKey(HTTP, () => Promise.resolve(7)), 7);
});
