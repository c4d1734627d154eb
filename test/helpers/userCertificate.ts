// A self-signed X.509 certificate for an OPC UA user identity, and its PEM private key, as files: what an
// operator gets from the plant's PKI for `opcua.identity`. The key is made with Node's Web Crypto (the type
// node-opcua-crypto signs with).
import { writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as path from 'node:path';
import { CertificatePurpose, createSelfSignedCertificate, makeSHA1Thumbprint, privateKeyToPEM, readCertificate } from 'node-opcua-crypto';

export interface UserCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** SHA-1 thumbprint (hex), as OPC UA servers list certificates. */
  readonly thumbprint: string;
  readonly keyPem: string;
}

/** Writes `<dir>/<name>.pem` (the certificate, CN=<name>) and `<dir>/<name>.key` (its key, mode 0600). */
export async function makeUserCertificate(dir: string, name: string): Promise<UserCertificate> {
  const { privateKey } = await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const { privPem } = await privateKeyToPEM(privateKey);
  const { cert } = await createSelfSignedCertificate({ privateKey, subject: `/CN=${name}`, purpose: CertificatePurpose.ForUserAuthentication, validity: 30 });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  writeFileSync(certFile, cert);
  writeFileSync(keyFile, privPem, { mode: 0o600 });
  return { certFile, keyFile, thumbprint: makeSHA1Thumbprint(readCertificate(certFile)).toString('hex'), keyPem: privPem };
}
