/**
 * A dtls listener's `dtls_options` (EMQX's keys) and the node's PSK lookup, turned into DtlsServer options:
 * files read, suites picked, and every misconfiguration reported as one clear start-up error.
 */
import { readFile } from 'node:fs/promises';
import { caCertificates, serverCredentials } from './certs.js';
import type { PskLookup } from './psk.js';
import type { DtlsServerOptions } from './server.js';
import { selectSuites } from './suites.js';

/** The dtls_options keys this implementation acts on. */
export interface DtlsOptionsConfig {
  certfile?: string;
  keyfile?: string;
  password?: string;
  cacertfile?: string;
  verify?: 'verify_peer' | 'verify_none';
  fail_if_no_peer_cert?: boolean;
  ciphers?: readonly string[];
  versions?: readonly string[];
  reuse_sessions?: boolean;
  /** ms (decoded from a duration). */
  handshake_timeout?: number;
  /** Most intermediate CA certificates in a client's chain. */
  depth?: number;
}

export type DtlsListenerSetup = Omit<DtlsServerOptions, 'transmit'>;

/** Reads key material and picks suites; throws a message naming the option at fault. */
export async function dtlsServerSetup(
  o: DtlsOptionsConfig | undefined,
  psk: PskLookup | undefined,
): Promise<DtlsListenerSetup> {
  const versions = o?.versions ?? ['dtlsv1.2'];
  if (!versions.includes('dtlsv1.2'))
    throw new Error('dtls_options.versions: only dtlsv1.2 is implemented (DTLS 1.0 is obsolete, RFC 8996)');
  const names = (o?.ciphers ?? [])
    .flatMap((c) => c.split(/[,:]/))
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const { suites, unknown } = selectSuites(names);
  // Names of suites this implementation lacks are skipped, as OpenSSL skips unknown names in a list; a list
  // naming none it has is an error.
  if (suites.length === 0)
    throw new Error(
      `dtls_options.ciphers: none of ${unknown.join(', ')} is supported (see docs: DTLS suites)`,
    );
  const setup: DtlsListenerSetup = { suites, psk };
  if (o?.certfile && o.keyfile) {
    const [cert, key] = await Promise.all([readFile(o.certfile, 'utf8'), readFile(o.keyfile, 'utf8')]);
    try {
      setup.credentials = serverCredentials(cert, key, o.password || undefined);
    } catch (err) {
      throw new Error(`dtls_options.certfile/keyfile: ${(err as Error).message}`);
    }
  }
  if (o?.verify === 'verify_peer') {
    if (!o.cacertfile) throw new Error('dtls_options.verify = verify_peer needs a cacertfile');
    setup.trusted = caCertificates(await readFile(o.cacertfile, 'utf8'));
    setup.verifyPeer = true;
    setup.failIfNoPeerCert = o.fail_if_no_peer_cert ?? false;
    if (o.depth !== undefined) setup.verifyDepth = o.depth;
  }
  if (o?.reuse_sessions === false) setup.sessionCacheSize = 0;
  if (o?.handshake_timeout !== undefined) setup.handshakeTimeoutMs = o.handshake_timeout;
  const usable = suites.some((s) =>
    s.kx === 'psk'
      ? psk !== undefined
      : setup.credentials?.kind === (s.kx === 'ecdhe_ecdsa' ? 'ecdsa' : 'rsa'),
  );
  if (!usable)
    throw new Error(
      'dtls listener has no usable cipher suite: enable psk_authentication or set dtls_options certfile/keyfile matching the ciphers',
    );
  return setup;
}
