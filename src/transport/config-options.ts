/**
 * Transport options from EMQX-style listener config blocks. MQTT listeners and gateway listeners share the
 * `ssl_options` block, so its mapping lives here once.
 */
import type { TlsOptions } from './listener.js';

/** The `ssl_options` keys a server listener uses (EMQX names). */
export interface SslOptionsConfig {
  certfile: string;
  keyfile: string;
  cacertfile: string;
  password: string;
  verify: 'verify_peer' | 'verify_none';
  fail_if_no_peer_cert: boolean;
  versions: string[];
  ciphers: string[];
  depth: number;
  handshake_timeout: number;
  honor_cipher_order: boolean;
}

/** Server TLS options from an `ssl_options` block (empty strings mean "not set"). */
export function tlsOptionsFromConfig(s: SslOptionsConfig): TlsOptions {
  return {
    certfile: s.certfile,
    keyfile: s.keyfile,
    cacertfile: s.cacertfile || undefined,
    password: s.password || undefined,
    verify: s.verify,
    failIfNoPeerCert: s.fail_if_no_peer_cert,
    versions: s.versions,
    ciphers: s.ciphers.length > 0 ? s.ciphers : undefined,
    depth: s.depth,
    handshakeTimeoutMs: s.handshake_timeout,
    honorCipherOrder: s.honor_cipher_order,
  };
}
