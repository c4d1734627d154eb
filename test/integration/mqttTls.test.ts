// MQTT over TLS against a real Mosquitto with a test CA and mutual TLS: the right CA and client certificate
// connect; a broker the configured trust does not vouch for is refused (never a fallback to plain text).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connectAsync } from 'mqtt';
import { InputError } from '../../src/core/errors';
import { MqttSource, type MqttSourceOptions } from '../../src/sources/mqtt';
import { testContext } from '../helpers/context';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

let dir: string;
let broker: Mosquitto;
const f = (name: string): string => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A CA, and a certificate signed by it for `name` (server: SAN 127.0.0.1; client: clientAuth). */
function makeCerts(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=anomalyd test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other CA', '-keyout', f('other.key'), '-out', f('other.crt'));
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ]) {
    writeFileSync(f(`${name}.ext`), ext + '\n');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`));
  }
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-tls-'));
  makeCerts();
  broker = await startMosquitto({ tls: { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key'), requireCertificate: true } });
});

after(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(over: Partial<MqttSourceOptions>): MqttSourceOptions {
  return {
    url: broker.url,
    clientId: `anomalyd-tls-${Math.random().toString(16).slice(2)}`,
    reconnect: { minDelayMs: 200, maxDelayMs: 1000, jitter: 0 },
    subscriptions: [{ topic: 'tls/+', stream: '{topic}', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
    ...over,
  };
}

void test('the test CA and a client certificate connect; messages flow over TLS', async () => {
  const t = testContext('source.mqtt');
  const got: number[] = [];
  const s = new MqttSource(t.ctx, options({ tls: { caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key') } }));
  await s.start((b) => void got.push(b.samples[0].values[0]));
  try {
    assert.equal(s.connected, true, JSON.stringify(t.events));
    const pub = await connectAsync(broker.url, { ca: readFileSync(f('ca.crt')), cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) });
    await pub.publishAsync('tls/a', '12.5', { qos: 1 });
    await pub.endAsync();
    await waitFor(() => got.length === 1, 'a message over TLS');
    assert.deepEqual(got, [12.5]);
  } finally {
    await s.stop();
  }
});

void test('a broker certificate from another CA is refused, and so is a missing client certificate', async () => {
  for (const [tls, why] of [
    [{ caFile: f('other.crt'), certFile: f('client.crt'), keyFile: f('client.key') }, /self-signed certificate|unable to verify/],
    [{ caFile: f('ca.crt') }, /certificate required/],
  ] as const) {
    const t = testContext('source.mqtt');
    const s = new MqttSource(t.ctx, options({ tls }));
    await s.start(() => undefined);
    // The first attempt reported and a retry failed too (not a fixed time): it never connects on a later try either.
    await waitFor(
      () => t.calls('mqttConnection').length > 0 && t.logs.some((l) => l.msg === 'MQTT reconnect attempt failed.'),
      'the first failure reported and a retry failed',
      10_000,
      () => t.calls('mqttConnection'),
    );
    await s.stop();
    assert.equal(t.calls('mqttConnection').some((c) => c[0]), false, `never connected with ${JSON.stringify(tls)}`);
    const [first] = t.calls('mqttConnection');
    assert.match(first[1], why);
  }
});

void test('a missing TLS file fails start with a message naming it', async () => {
  const s = new MqttSource(testContext().ctx, options({ tls: { caFile: f('nope.crt') } }));
  await assert.rejects(s.start(() => undefined), (err: Error) => err instanceof InputError && /^mqtt\.tls\.ca_file: cannot read the MQTT TLS file '.*nope\.crt'/.test(err.message));
  await s.stop();
});
