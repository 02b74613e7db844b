import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import type { PeerCertificate } from './connection.js';
import type { TlsOptions } from './listener.js';

/** Handshake timeout when the options give none (EMQX's default). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

const VERSIONS: Record<string, tls.SecureVersion> = {
  'tlsv1.3': 'TLSv1.3',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.1': 'TLSv1.1',
  tlsv1: 'TLSv1',
};
const ORDER: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Reads the key material and maps EMQX-style options onto node:tls server options.
 * Client certificates are always checked by us after the handshake (`verifyPeer`), never by node's
 * rejectUnauthorized, which drops a bad certificate without saying who sent it or why.
 */
export async function loadTlsServerOptions(opts: TlsOptions): Promise<tls.TlsOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(opts.certfile),
    readFile(opts.keyfile),
    opts.cacertfile ? readFile(opts.cacertfile) : undefined,
  ]);
  const out: tls.TlsOptions = {
    cert,
    key,
    requestCert: opts.verify === 'verify_peer',
    rejectUnauthorized: false,
    handshakeTimeout: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  };
  if (ca !== undefined) out.ca = ca;
  if (opts.password) out.passphrase = opts.password;
  if (opts.honorCipherOrder !== undefined) out.honorCipherOrder = opts.honorCipherOrder;
  if (opts.ciphers !== undefined && opts.ciphers.length > 0) {
    out.ciphers = opts.ciphers
      .flatMap((c) => c.split(/[,:]/))
      .filter((c) => c.trim() !== '')
      .join(':');
  }
  if (opts.versions !== undefined && opts.versions.length > 0) {
    const picked = opts.versions.map((v) => {
      const version = VERSIONS[v.toLowerCase()];
      if (version === undefined) throw new Error(`unsupported TLS version ${JSON.stringify(v)}`);
      return ORDER.indexOf(version);
    });
    // Node takes a range: a gap in the list (tlsv1.3 + tlsv1.1) still allows what lies between.
    out.minVersion = ORDER[Math.min(...picked)];
    out.maxVersion = ORDER[Math.max(...picked)];
  }
  return out;
}

/** Why a handshaken client must be refused under `opts`, or undefined when it may stay. */
export function verifyPeer(sock: tls.TLSSocket, opts: TlsOptions): string | undefined {
  if (opts.verify !== 'verify_peer') return undefined;
  const cert = sock.getPeerCertificate(true);
  if (cert === null || cert === undefined || cert.raw === undefined) {
    return opts.failIfNoPeerCert ? 'peer did not return a certificate' : undefined;
  }
  // With verify_peer a presented certificate must verify even when an absent one would be fine.
  if (!sock.authorized) return `bad peer certificate: ${String(sock.authorizationError ?? 'not authorized')}`;
  if (opts.depth !== undefined && chainLength(cert) - 1 > opts.depth) {
    return `peer certificate chain longer than depth ${opts.depth}`;
  }
  return undefined;
}

/** The verified client certificate as the broker sees it, or undefined when there is none. */
export function peerCertificateOf(sock: tls.TLSSocket): PeerCertificate | undefined {
  if (!sock.authorized) return undefined;
  const x509 = sock.getPeerX509Certificate();
  return x509 === undefined ? undefined : certificateIdentity(x509);
}

/** A certificate's CN, RFC 4514 DN and PEM (also what a DTLS listener reports for its peer). */
export function certificateIdentity(x509: X509Certificate): PeerCertificate {
  // node prints the subject one RDN per line in certificate order; RFC 4514 lists them most specific first.
  const rdns = x509.subject.split('\n').filter((line) => line !== '');
  let cn: string | undefined;
  for (const rdn of rdns) if (rdn.startsWith('CN=')) cn = rdn.slice(3);
  return { cn, dn: rdns.reverse().join(','), pem: x509.toString() };
}

function chainLength(cert: tls.DetailedPeerCertificate): number {
  let n = 1;
  let at = cert;
  while (at.issuerCertificate !== undefined && at.issuerCertificate !== at && n < 100) {
    if (at.issuerCertificate.fingerprint256 === at.fingerprint256) break;
    at = at.issuerCertificate;
    n++;
  }
  return n;
}
