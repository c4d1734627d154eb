// The OPC UA source's certificates and identity, and what a refused connection means in words an operator can
// act on. anomalyd's certificate store is a node-opcua PKI directory (own/, trusted/, rejected/, issuers/):
// the configured trusted_certs are added to it at each start, and it never accepts an unknown server
// certificate by itself. Without cert_file node-opcua makes a self-signed certificate there on the first
// connection; its thumbprint is logged so the server's administrator can trust it.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import type { UserIdentityInfo } from 'node-opcua-client';
import { errorMessage } from '../core/errors';
import type { OpcuaClientLib } from './opcuaClient';

export interface OpcuaSecurityOptions {
  readonly mode: 'None' | 'Sign' | 'SignAndEncrypt';
  readonly policy: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly trustedCerts: readonly string[];
  readonly pkiDir: string;
}

export interface OpcuaIdentityOptions {
  readonly user?: string;
  readonly password?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The certificate store, with the trusted certificates added; throws naming a file that cannot be read. */
export async function certificateStore(lib: OpcuaClientLib, opts: OpcuaSecurityOptions): Promise<OPCUACertificateManager> {
  const store = new lib.certificates.OPCUACertificateManager({ rootFolder: opts.pkiDir, automaticallyAcceptUnknownCertificate: false });
  await store.initialize();
  for (const file of opts.trustedCerts) {
    let der: Buffer;
    try {
      der = lib.crypto.readCertificate(file);
    } catch (err) {
      throw new Error(`opcua.security.trusted_certs: cannot read ${file} (${errorMessage(err)})`);
    }
    await store.trustCertificate(der);
  }
  return store;
}

/** Where node-opcua keeps the certificate it makes when cert_file is unset. */
export function ownCertificateFile(pkiDir: string): string {
  return path.join(pkiDir, 'own', 'certs', 'client_certificate.pem');
}

/** The SHA-1 thumbprint (hex) of a certificate file, as OPC UA servers list certificates; null when unreadable. */
export function thumbprintOf(lib: OpcuaClientLib, file: string): string | null {
  if (!existsSync(file)) return null;
  try {
    return lib.crypto.makeSHA1Thumbprint(lib.crypto.readCertificate(file)).toString('hex');
  } catch {
    return null;
  }
}

/**
 * The certificate the server presents on the endpoint of this mode and policy, asked for on a plain discovery
 * connection (GetEndpoints needs no security): after a refused certificate, so the message can name it.
 */
export async function presentedCertificate(lib: OpcuaClientLib, url: string, mode: string, policy: string): Promise<Buffer | null> {
  const c = lib.client;
  const probe = c.OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 100 } });
  try {
    await probe.connect(url);
    const endpoints = await probe.getEndpoints();
    const wanted = c.MessageSecurityMode[mode as keyof typeof c.MessageSecurityMode];
    const match = endpoints.find((e) => e.securityMode === wanted && (e.securityPolicyUri ?? '').endsWith(`#${policy}`)) ?? endpoints.find((e) => e.serverCertificate?.length);
    return match?.serverCertificate ?? null;
  } catch {
    return null;
  } finally {
    await probe.disconnect().catch(() => undefined);
  }
}

/** The SHA-1 thumbprint (hex) of a DER certificate; null when it does not parse. */
export function thumbprintOfDer(lib: OpcuaClientLib, der: Buffer | null): string | null {
  if (!der || der.length === 0) return null;
  try {
    return lib.crypto.makeSHA1Thumbprint(der).toString('hex');
  } catch {
    return null;
  }
}

/**
 * The session identity; throws naming a file that cannot be read. A certificate identity signs with its key
 * through node-opcua-crypto's key operations (node-opcua deprecates handing it the PEM text).
 */
export function userIdentity(lib: OpcuaClientLib, opts: OpcuaIdentityOptions): UserIdentityInfo {
  const { UserTokenType } = lib.client;
  if (opts.user !== undefined) return { type: UserTokenType.UserName, userName: opts.user, password: opts.password ?? '' };
  if (opts.certFile !== undefined && opts.keyFile !== undefined) {
    try {
      return { type: UserTokenType.Certificate, certificateData: lib.crypto.readCertificate(opts.certFile), keyOperations: lib.crypto.keyOperationsFromPrivateKey(lib.crypto.readPrivateKey(opts.keyFile)) };
    } catch (err) {
      throw new Error(`opcua.identity: cannot read the identity certificate ${opts.certFile} or its key file ${opts.keyFile} (${errorMessage(err)})`);
    }
  }
  return { type: UserTokenType.Anonymous };
}

/** What a refusal message names about anomalyd's side: certificates by file and thumbprint, never a key. */
export interface FailureContext {
  readonly serverThumbprint: string | null;
  readonly ownThumbprint: string | null;
  readonly mode: string;
  readonly policy: string;
  /** The identity certificate (identity.cert_file) when the session identity is one. */
  readonly identityCertificate?: { readonly file: string; readonly thumbprint: string | null };
}

/**
 * A connection or session failure in words that say what to do. node-opcua's messages name status codes; the
 * ones an operator can fix are spelled out, the rest pass through. Never contains the password.
 */
export function explainFailure(err: unknown, ctx: FailureContext): string {
  const text = errorMessage(err).replace(/\s+/g, ' ').trim();
  // First: a refused identity certificate's message can name certificate status codes too.
  if (/BadIdentityTokenRejected|BadIdentityTokenInvalid|BadUserAccessDenied|BadUserSignatureInvalid/i.test(text)) {
    const id = ctx.identityCertificate;
    if (id) {
      const which = id.thumbprint ? ` (thumbprint ${id.thumbprint})` : '';
      return `the server refused the identity certificate ${id.file}${which} of opcua.identity: trust it in the server's user certificate store (or its issuer), and check that it is valid and the key file is its own [${text}]`;
    }
    return `the server refused the identity in opcua.identity (user name and password, or certificate) [${text}]`;
  }
  if (/BadCertificateUntrusted|server Certificate verification failed/i.test(text) && /server certificate/i.test(text)) {
    const which = ctx.serverThumbprint ? ` (thumbprint ${ctx.serverThumbprint})` : '';
    return `the server's certificate${which} is not trusted: add it to opcua.security.trusted_certs (or its issuer's), or check that this is the server you meant [${text}]`;
  }
  if (/BadCertificate\w*|BadSecurityChecksFailed|rejected by server|BadNoValidCertificates/i.test(text)) {
    const own = ctx.ownThumbprint ? ` (thumbprint ${ctx.ownThumbprint})` : '';
    return `the server refused the secure channel: it probably does not trust anomalyd's certificate${own}; trust it in the server's PKI, and check that it is valid [${text}]`;
  }
  const token = /Cannot find (ANONYMOUS|USERNAME|Certificate \(X509\)) user token policy/i.exec(text)?.[1]?.toLowerCase();
  if (token === 'anonymous') return `the server accepts no anonymous session on its endpoint with security mode ${ctx.mode}: set opcua.identity (a user or a certificate) [${text}]`;
  if (token !== undefined) {
    const kind = token === 'username' ? 'user name' : 'certificate';
    return `the server offers no ${kind} identity on its endpoint with security mode ${ctx.mode}: use a mode it offers it with (Sign or SignAndEncrypt), or another identity [${text}]`;
  }
  if (/cannot find endpoint|endpoint.*(not found|does not exist)|BadSecurityPolicyRejected|BadSecurityModeRejected/i.test(text)) {
    return `the server offers no endpoint with security mode ${ctx.mode} and policy ${ctx.policy}; change opcua.security to one it offers [${text}]`;
  }
  return text;
}
