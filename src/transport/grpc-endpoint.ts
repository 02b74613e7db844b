/**
 * How to reach a gRPC server Hermod calls (an ExHook server, an ExProto handler): the target from its url,
 * and plain or TLS channel credentials (CA, client certificate, verification, SNI, versions, ciphers) from
 * its ssl options. It sits in the transport layer because both extensions and gateways dial out with it.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { type ChannelCredentials, type ChannelOptions, credentials } from '@grpc/grpc-js';
import type { ExhookServerConfig } from '../config/schema/exhook.js';
import type { H2Dial } from './grpc-h2.js';

/** Everything a gRPC client needs to open a connection. */
export interface Endpoint {
  /** host:port ('[::1]:9000' for IPv6). */
  target: string;
  credentials: ChannelCredentials;
  options: ChannelOptions;
  /** The same, for Hermod's own client (grpc-h2.ts). */
  dial: H2Dial;
}

const TLS_VERSIONS: Record<string, SecureVersion> = {
  tlsv1: 'TLSv1',
  'tlsv1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3',
};
const VERSION_ORDER: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function readPem(file: string, what: string): Buffer | undefined {
  if (file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ssl.${what} ${file}: ${(err as Error).message}`);
  }
}

/** The endpoint of a server; throws with a readable message when the url or a certificate file is bad. */
export function endpointOf(cfg: ExhookServerConfig): Endpoint {
  let url: URL;
  try {
    url = new URL(cfg.url);
  } catch {
    throw new Error(`invalid url ${cfg.url}`);
  }
  const tls = url.protocol === 'https:';
  if (!tls && url.protocol !== 'http:')
    throw new Error(`url must start with http:// or https://: ${cfg.url}`);
  const port = url.port !== '' ? url.port : tls ? '443' : '80';
  const options: ChannelOptions = {
    // One TCP connection per pool member: grpc-js would otherwise share one among equal clients.
    'grpc.use_local_subchannel_pool': 1,
    // A server that comes back is found within seconds, not after grpc-js's 2-minute backoff ceiling.
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 5000,
    // A provider may return a rewritten payload as large as MQTT allows.
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  };
  const target = `${url.hostname}:${port}`;
  const origin = `${url.protocol}//${target}`;
  if (!tls)
    return {
      target,
      credentials: credentials.createInsecure(),
      options,
      dial: { origin, authority: target },
    };
  const dial: H2Dial = { origin, authority: target };
  return { target, credentials: tlsCredentials(cfg, options, dial), options, dial };
}

function tlsCredentials(cfg: ExhookServerConfig, options: ChannelOptions, dial: H2Dial): ChannelCredentials {
  const s = cfg.ssl;
  // url.hostname keeps IPv6 brackets; an IP literal is never sent as SNI.
  const host = dial.origin.replace(/^https:\/\//, '').replace(/:\d+$/, '');
  const hostIsName = !host.startsWith('[') && !/^\d+\.\d+\.\d+\.\d+$/.test(host);
  if (!s.enable) {
    dial.tls = {
      secureContext: createSecureContext({}),
      servername: hostIsName ? host : '',
      rejectUnauthorized: true,
      skipNameCheck: false,
    };
    return credentials.createSsl();
  }
  const versions = s.versions
    .map((v) => TLS_VERSIONS[v]!)
    .sort((a, b) => VERSION_ORDER.indexOf(a) - VERSION_ORDER.indexOf(b));
  const context = createSecureContext({
    ca: readPem(s.cacertfile, 'cacertfile'),
    cert: readPem(s.certfile, 'certfile'),
    key: readPem(s.keyfile, 'keyfile'),
    passphrase: s.password === '' ? undefined : s.password,
    minVersion: versions[0],
    maxVersion: versions[versions.length - 1],
    ciphers: s.ciphers.length > 0 ? s.ciphers.join(':') : undefined,
  });
  const sni = s.server_name_indication;
  if (sni !== '' && sni !== 'disable') {
    options['grpc.ssl_target_name_override'] = sni;
    options['grpc.default_authority'] = sni;
    dial.authority = sni;
  }
  const verify = s.verify === 'verify_peer';
  dial.tls = {
    secureContext: context,
    servername: sni === 'disable' ? '' : sni !== '' ? sni : hostIsName ? host : '',
    rejectUnauthorized: verify,
    skipNameCheck: !verify || sni === 'disable',
  };
  return credentials.createFromSecureContext(context, {
    rejectUnauthorized: verify,
    // "disable" sends no name to check the certificate against, so only the chain is verified.
    checkServerIdentity: verify && sni !== 'disable' ? undefined : () => undefined,
  });
}
