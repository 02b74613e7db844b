/**
 * Certificates for DTLS: the server's chain and key from PEM files, and checking a client's chain against
 * the configured CAs (validity dates, issuer signatures). Failures carry the alert RFC 5246 names for them.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { Alert, DtlsError } from './wire.js';

export interface ServerCredentials {
  /** DER certificates, leaf first. */
  chain: Buffer[];
  key: KeyObject;
  /** Which ECDHE suites the key can sign for. */
  kind: 'ecdsa' | 'rsa';
}

/** The DER blocks of every CERTIFICATE in a PEM text. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem); m !== null; m = re.exec(pem))
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/** The server's credentials from PEM texts; throws with a clear message when they do not fit DTLS. */
export function serverCredentials(certPem: string, keyPem: string, passphrase?: string): ServerCredentials {
  const chain = pemCertificates(certPem);
  if (chain.length === 0) throw new Error('certfile holds no certificate');
  const key = createPrivateKey({ key: keyPem, passphrase });
  const type = key.asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa')
    throw new Error(`keyfile: ${type} keys are not supported (use EC or RSA)`);
  if (!new X509Certificate(chain[0]!).checkPrivateKey(key))
    throw new Error('keyfile does not match certfile');
  return { chain, key, kind: type === 'ec' ? 'ecdsa' : 'rsa' };
}

/** CA certificates from a PEM text. */
export function caCertificates(pem: string): X509Certificate[] {
  return pemCertificates(pem).map((der) => new X509Certificate(der));
}

/** `dtls_options.depth` when unset: EMQX's (and OpenSSL's usual) default. */
export const DEFAULT_VERIFY_DEPTH = 10;

/**
 * Checks a presented chain (leaf first) against trusted CAs at `now`; returns the leaf. `maxDepth` is the
 * most intermediate CA certificates allowed between the leaf and a trusted CA (OpenSSL's verify depth):
 * 0 accepts only a leaf issued by a trusted CA itself.
 */
export function verifyChain(
  ders: readonly Buffer[],
  trusted: readonly X509Certificate[],
  maxDepth = DEFAULT_VERIFY_DEPTH,
  now = Date.now(),
): X509Certificate {
  let certs: X509Certificate[];
  try {
    certs = ders.map((d) => new X509Certificate(d));
  } catch {
    throw new DtlsError(Alert.badCertificate, 'unparsable certificate');
  }
  const leaf = certs[0];
  if (leaf === undefined) throw new DtlsError(Alert.badCertificate, 'empty certificate chain');
  let at = leaf;
  for (let depth = 0; depth <= maxDepth; depth++) {
    if (Date.parse(at.validTo) < now)
      throw new DtlsError(
        Alert.certificateExpired,
        `certificate expired (${at.subject.replace(/\n/g, ',')})`,
      );
    if (Date.parse(at.validFrom) > now)
      throw new DtlsError(Alert.badCertificate, 'certificate not yet valid');
    const current = at;
    const anchor = trusted.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (anchor !== undefined) return leaf;
    // Only a CA certificate may issue another: a leaf must not vouch for a certificate it signed.
    const next = certs.find(
      (c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey),
    );
    if (next === undefined) throw new DtlsError(Alert.unknownCa, 'certificate not issued by a trusted CA');
    at = next;
  }
  throw new DtlsError(
    Alert.unknownCa,
    `certificate chain longer than dtls_options.depth (${maxDepth} intermediate CA certificates)`,
  );
}
