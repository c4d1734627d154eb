// What the schema cannot say about the `opcua` section: pairs that go together (certificate and key, user and
// password), a policy that fits the mode, one variable per item, and streams that are the OPC UA input's alone.
// The model, channels and detection overrides of each subscription are checked as any subscription's are (its
// entry in `subscriptions`, opcuaStreams.ts).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { ConfigPath, ProblemList } from './problems';
import type { Config } from './schema';

export function checkOpcua(config: Config, problems: ProblemList, mqttStreams: readonly (RegExp | undefined)[]): void {
  const opcua = config.opcua;
  if (opcua === undefined) return;
  const at: ConfigPath = ['opcua'];
  const { security, identity } = opcua;
  if (security.mode === 'None' && security.policy !== undefined && security.policy !== 'None') {
    problems.add([...at, 'security', 'policy'], 'must be None (or unset) when security.mode is None; set mode to Sign or SignAndEncrypt to use it', security.policy);
  }
  if (security.mode !== 'None' && security.policy === 'None') {
    problems.add([...at, 'security', 'policy'], `must not be None when security.mode is ${security.mode}`, security.policy);
  }
  pair(security.cert_file, security.key_file, [...at, 'security'], problems);
  pair(identity.cert_file, identity.key_file, [...at, 'identity'], problems);
  if (identity.password !== undefined && identity.user === undefined) {
    problems.add([...at, 'identity', 'user'], 'is required with a password', undefined, true);
  }
  if (identity.user !== undefined && identity.password === undefined) {
    problems.add([...at, 'identity', 'password'], 'is required with a user (set password_file or password)', undefined, true);
  }
  if (identity.user !== undefined && identity.cert_file !== undefined) {
    problems.add([...at, 'identity', 'cert_file'], 'names a certificate identity as well as a user; choose one', identity.cert_file);
  }
  // run reads these at start; validate refuses what run would.
  const files: [ConfigPath, string | undefined][] = [
    [[...at, 'security', 'cert_file'], security.cert_file],
    [[...at, 'security', 'key_file'], security.key_file],
    ...security.trusted_certs.map((f, i): [ConfigPath, string] => [[...at, 'security', 'trusted_certs', i], f]),
    [[...at, 'identity', 'cert_file'], identity.cert_file],
    [[...at, 'identity', 'key_file'], identity.key_file],
  ];
  const unreadable = new Set<string>();
  for (const [where, file] of files) if (file !== undefined && !readable(file, where, problems)) unreadable.add(file);
  // The source reads these as a certificate and its key when it connects; a pair that does not parse or match
  // would be refused at every attempt, so validate (and run, which loads the config the same way) refuse it.
  for (const part of ['security', 'identity'] as const) {
    const { cert_file: cert, key_file: key } = opcua[part];
    if (cert !== undefined && key !== undefined && !unreadable.has(cert) && !unreadable.has(key)) certificatePair(cert, key, [...at, part], problems);
  }
  const streams = new Map<string, number>();
  opcua.subscriptions.forEach((sub, k) => {
    const here: ConfigPath = [...at, 'subscriptions', k];
    const earlier = streams.get(sub.stream);
    if (earlier !== undefined) problems.add([...here, 'stream'], `repeats the stream of opcua.subscriptions[${earlier}]; list all of a stream's items in one subscription`, sub.stream);
    streams.set(sub.stream, k);
    const mqtt = mqttStreams.findIndex((p) => p?.test(sub.stream));
    if (mqtt !== -1) problems.add([...here, 'stream'], `is also produced by subscriptions[${mqtt}] (MQTT); a stream takes its samples from one input`, sub.stream);
    const channels = new Map<string, number>();
    sub.items.forEach((item, j) => {
      const itemAt: ConfigPath = [...here, 'items', j];
      if ((item.node_id === undefined) === (item.browse_path === undefined)) {
        problems.add(itemAt, 'must name its variable by exactly one of node_id and browse_path', item);
      }
      const before = channels.get(item.channel);
      if (before !== undefined) problems.add([...itemAt, 'channel'], `repeats the channel of items[${before}]`, item.channel);
      channels.set(item.channel, j);
    });
  });
}

function pair(cert: string | undefined, key: string | undefined, at: ConfigPath, problems: ProblemList): void {
  if ((cert === undefined) === (key === undefined)) return;
  const missing = cert === undefined ? 'cert_file' : 'key_file';
  problems.add([...at, missing], 'is required when the other half of the certificate is set', undefined, true);
}

function readable(file: string, at: ConfigPath, problems: ProblemList): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      problems.add(at, 'must name a regular file', file);
      return false;
    }
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch (err) {
    problems.add(at, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, file);
    return false;
  }
}

/**
 * A certificate (PEM or DER) and the unencrypted PEM private key of it. The problem names the files and the
 * certificate's thumbprint, never the key's content.
 */
function certificatePair(certFile: string, keyFile: string, at: ConfigPath, problems: ProblemList): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(fs.readFileSync(certFile));
  } catch {
    problems.add([...at, 'cert_file'], 'is not an X.509 certificate (PEM or DER)', certFile);
    return;
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey({ key: fs.readFileSync(keyFile), format: 'pem' });
  } catch {
    problems.add([...at, 'key_file'], 'is not an unencrypted PEM private key', keyFile);
    return;
  }
  if (!cert.checkPrivateKey(key)) {
    const thumbprint = cert.fingerprint.replace(/:/g, '').toLowerCase();
    problems.add([...at, 'key_file'], `is not the private key of cert_file ${certFile} (thumbprint ${thumbprint})`, keyFile);
  }
}
