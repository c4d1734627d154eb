// Item 14 (issue 5), the cases test/integration/mqttTls.test.ts does not cover: a broker certificate signed by the
// trusted CA but expired, and one valid for another host name. Both fail closed with a clear reason, and the
// source never falls back to plain text (it never reports a connection; the broker only speaks TLS anyway, so a
// plain-text attempt would also be visible as a non-TLS error).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { MqttSource } from '../../src/sources/mqtt';
import { testContext } from '../helpers/context';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

let dir: string;
const brokers: Mosquitto[] = [];
const f = (name: string): string => path.join(dir, name);
const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });

/** A server certificate signed by the test CA (-days -1: its notAfter is a day ago, so it is expired). */
function serverCert(name: string, san: string, validity: string[]): void {
  writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
  openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', ...validity, '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`));
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-tls-expiry-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=anomalyd test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  serverCert('expired', 'IP:127.0.0.1,DNS:localhost', ['-days', '-1']);
  serverCert('otherhost', 'DNS:broker.example.invalid', ['-days', '2']);
});

after(async () => {
  for (const b of brokers) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, why] of [
  ['expired', /certificate has expired|CERT_HAS_EXPIRED/],
  ['otherhost', /Hostname\/IP does not match|altnames|ERR_TLS_CERT_ALTNAME_INVALID/],
] as const) {
  test(`a broker certificate that is ${name === 'expired' ? 'expired' : 'for another host name'} is refused (fails closed)`, async () => {
    const broker = await startMosquitto({ tls: { caFile: f('ca.crt'), certFile: f(`${name}.crt`), keyFile: f(`${name}.key`) } });
    brokers.push(broker);
    const t = testContext('source.mqtt');
    const s = new MqttSource(t.ctx, {
      url: broker.url,
      clientId: `anomalyd-tls-${name}`,
      tls: { caFile: f('ca.crt') },
      reconnect: { minDelayMs: 200, maxDelayMs: 500, jitter: 0 },
      subscriptions: [{ topic: 'tls/+', stream: '{topic}', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
    });
    await s.start(() => undefined);
    // The first attempt reported and a retry failed too (not a fixed time): it never connects on a later try either.
    await waitFor(
      () => t.calls('mqttConnection').length > 0 && t.logs.some((l) => l.msg === 'MQTT reconnect attempt failed.'),
      'the first failure reported and a retry failed',
      10_000,
      () => t.calls('mqttConnection'),
    );
    await s.stop();
    const calls = t.calls('mqttConnection');
    console.log(`[item 14] ${name}: ${calls.length} connection reports, connected ${calls.some((c) => c[0])}: ${calls[0]?.[1]}`);
    assert.equal(calls.some((c) => c[0]), false, 'never connected');
    assert.equal(s.connected, false);
    assert.match(String(calls[0]?.[1]), why);
    assert.match(String(calls[0]?.[1]), /mqtts:\/\//, 'the report names the TLS URL: no plain-text fallback');
  });
}
