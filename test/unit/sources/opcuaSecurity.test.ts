import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainFailure, type FailureContext } from '../../../src/sources/opcuaSecurity';

const base: FailureContext = { serverThumbprint: 'aa11', ownThumbprint: 'bb22', mode: 'None', policy: 'None' };
const identity: FailureContext = { ...base, identityCertificate: { file: '/etc/anomalyd/opcua-user.pem', thumbprint: 'cc33' } };

describe('OPC UA failure explanations', () => {
  it('names a refused identity certificate by file and thumbprint', () => {
    const text = explainFailure(new Error('ActivateSession failed: BadIdentityTokenRejected (0x80210000)'), identity);
    assert.match(text, /^the server refused the identity certificate \/etc\/anomalyd\/opcua-user\.pem \(thumbprint cc33\) of opcua\.identity: trust it/);
    assert.match(text, /\[ActivateSession failed: BadIdentityTokenRejected/);
  });

  it('takes an identity refusal that names a certificate status for the identity, not the channel', () => {
    const text = explainFailure(new Error('BadIdentityTokenRejected: BadCertificateUntrusted'), identity);
    assert.match(text, /refused the identity certificate/);
  });

  it('says a user name and password were refused without naming them', () => {
    assert.match(explainFailure(new Error('BadUserAccessDenied'), base), /^the server refused the identity in opcua\.identity \(user name and password, or certificate\)/);
  });

  it('says which identity the endpoint does not offer, and what to change', () => {
    const cert = explainFailure(new Error('Cannot find Certificate (X509) user token policy in end point description'), identity);
    assert.match(cert, /^the server offers no certificate identity on its endpoint with security mode None: use a mode it offers it with/);
    const user = explainFailure(new Error('Cannot find USERNAME user token policy in end point description'), base);
    assert.match(user, /^the server offers no user name identity/);
    const anonymous = explainFailure(new Error('Cannot find ANONYMOUS user token policy in end point description'), base);
    assert.match(anonymous, /^the server accepts no anonymous session on its endpoint with security mode None: set opcua\.identity/);
  });

  it("names the server's certificate when it is not trusted, and anomalyd's when the server refuses it", () => {
    assert.match(explainFailure(new Error('server Certificate verification failed: BadCertificateUntrusted'), base), /the server's certificate \(thumbprint aa11\) is not trusted/);
    assert.match(explainFailure(new Error('BadSecurityChecksFailed'), base), /does not trust anomalyd's certificate \(thumbprint bb22\)/);
  });
});
