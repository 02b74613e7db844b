/**
 * Client certificate chains as dtls_options.depth and the CA flag rule them, with certificates made by
 * openssl at test time: a leaf issued through an intermediate CA passes at depth ≥ 1 only, and a
 * certificate "issued" by a leaf (no CA flag) never passes.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { caCertificates, verifyChain } from '../../../src/transport/dtls/certs.js';
import { type DtlsFixtures, makeDtlsFixtures } from './fixtures.js';

describe('dtls client certificate chains', () => {
  let f: DtlsFixtures;
  const der = (file: string) => new X509Certificate(readFileSync(file)).raw;
  before(() => {
    f = makeDtlsFixtures();
  });
  after(() => f.remove());

  it('a leaf issued by a trusted CA passes at depth 0', () => {
    const trusted = caCertificates(readFileSync(f.ca, 'utf8'));
    assert.match(verifyChain([der(f.clientCert)], trusted, 0).subject, /CN=dev7/);
  });

  it('one intermediate CA: refused at depth 0 naming the option, accepted at depth 1 and by default', () => {
    const trusted = caCertificates(readFileSync(f.ca, 'utf8'));
    const chain = [der(f.deepCert), der(f.interCert)];
    assert.throws(() => verifyChain(chain, trusted, 0), /longer than dtls_options\.depth \(0 /);
    assert.match(verifyChain(chain, trusted, 1).subject, /CN=deep/);
    assert.match(verifyChain(chain, trusted).subject, /CN=deep/);
  });

  it('a certificate signed by a leaf (no CA flag) is refused, whatever the depth', () => {
    const trusted = caCertificates(readFileSync(f.ca, 'utf8'));
    assert.throws(
      () => verifyChain([der(f.forgedCert), der(f.clientCert)], trusted, 10),
      /not issued by a trusted CA/,
    );
  });
});
