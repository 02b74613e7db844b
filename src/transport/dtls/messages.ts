/**
 * The handshake message bodies this implementation sends and reads (RFC 5246 §7.4, RFC 6347 §4.2.1,
 * RFC 4279 §2, RFC 8422 §5): each has an encoder and a decoder that throws DtlsError on malformed input.
 */
import { Alert, DtlsError, Reader, u16, vec } from './wire.js';

export const Extension = {
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  extendedMasterSecret: 23,
  renegotiationInfo: 0xff01,
} as const;

/** The signalling suite value that stands for an empty renegotiation_info (RFC 5746 §3.3). */
export const EMPTY_RENEGOTIATION_SCSV = 0x00ff;
/** secp256r1, the one curve offered (RFC 8422 §5.1.1). */
export const SECP256R1 = 23;
/** SignatureAndHashAlgorithm values: hash sha256 (4) with rsa (1) or ecdsa (3). */
export const SIG_RSA_SHA256 = 0x0401;
export const SIG_ECDSA_SHA256 = 0x0403;

export interface ClientHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cookie: Buffer;
  suites: number[];
  compressions: Buffer;
  extensions: Map<number, Buffer>;
}

function parseExtensions(r: Reader): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (r.remaining === 0) return out;
  const block = r.vector(2, 'extensions');
  const er = new Reader(block);
  while (er.remaining > 0) {
    const type = er.u16('extension type');
    const data = er.vector(2, 'extension data');
    if (out.has(type)) throw new DtlsError(Alert.decodeError, `extension ${type} repeated`);
    out.set(type, data);
  }
  return out;
}

function encodeExtensions(exts: ReadonlyArray<[number, Buffer]>): Buffer {
  if (exts.length === 0) return Buffer.alloc(0);
  return vec(2, Buffer.concat(exts.map(([t, d]) => Buffer.concat([u16(t), vec(2, d)]))));
}

export function parseClientHello(body: Buffer): ClientHello {
  const r = new Reader(body);
  const version = r.u16('client_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vector(1, 'session_id');
  if (sessionId.length > 32) throw new DtlsError(Alert.decodeError, 'session_id longer than 32 bytes');
  const cookie = r.vector(1, 'cookie');
  const suiteBytes = r.vector(2, 'cipher_suites');
  if (suiteBytes.length < 2 || suiteBytes.length % 2 !== 0)
    throw new DtlsError(Alert.decodeError, 'malformed cipher_suites');
  const suites: number[] = [];
  for (let i = 0; i < suiteBytes.length; i += 2) suites.push(suiteBytes.readUInt16BE(i));
  const compressions = r.vector(1, 'compression_methods');
  if (compressions.length === 0) throw new DtlsError(Alert.decodeError, 'no compression methods');
  const extensions = parseExtensions(r);
  r.done('ClientHello');
  return { version, random, sessionId, cookie, suites, compressions, extensions };
}

export function encodeClientHello(h: ClientHello): Buffer {
  const suites = Buffer.allocUnsafe(h.suites.length * 2);
  for (let i = 0; i < h.suites.length; i++) suites.writeUInt16BE(h.suites[i]!, i * 2);
  return Buffer.concat([
    u16(h.version),
    h.random,
    vec(1, h.sessionId),
    vec(1, h.cookie),
    vec(2, suites),
    vec(1, h.compressions),
    encodeExtensions([...h.extensions]),
  ]);
}

export function encodeHelloVerifyRequest(version: number, cookie: Buffer): Buffer {
  return Buffer.concat([u16(version), vec(1, cookie)]);
}

export function parseHelloVerifyRequest(body: Buffer): Buffer {
  const r = new Reader(body);
  r.u16('server_version');
  const cookie = r.vector(1, 'cookie');
  r.done('HelloVerifyRequest');
  return cookie;
}

export interface ServerHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  suite: number;
  extensions: Map<number, Buffer>;
}

export function encodeServerHello(h: ServerHello): Buffer {
  return Buffer.concat([
    u16(h.version),
    h.random,
    vec(1, h.sessionId),
    u16(h.suite),
    Buffer.of(0),
    encodeExtensions([...h.extensions]),
  ]);
}

export function parseServerHello(body: Buffer): ServerHello {
  const r = new Reader(body);
  const version = r.u16('server_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vector(1, 'session_id');
  const suite = r.u16('cipher_suite');
  if (r.u8('compression_method') !== 0)
    throw new DtlsError(Alert.illegalParameter, 'compression is not supported');
  const extensions = parseExtensions(r);
  r.done('ServerHello');
  return { version, random, sessionId, suite, extensions };
}

/** A list of uint16 values in a 2-byte-length vector (supported_groups, signature_algorithms). */
export function parseU16List(data: Buffer, what: string): number[] {
  const r = new Reader(data);
  const list = r.vector(2, what);
  r.done(what);
  if (list.length % 2 !== 0) throw new DtlsError(Alert.decodeError, `malformed ${what}`);
  const out: number[] = [];
  for (let i = 0; i < list.length; i += 2) out.push(list.readUInt16BE(i));
  return out;
}

export function encodeU16List(values: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 2);
  for (let i = 0; i < values.length; i++) b.writeUInt16BE(values[i]!, i * 2);
  return vec(2, b);
}

/** Certificate: a 3-byte-length list of 3-byte-length DER certificates. */
export function encodeCertificateList(ders: readonly Buffer[]): Buffer {
  return vec(3, Buffer.concat(ders.map((d) => vec(3, d))));
}

export function parseCertificateList(body: Buffer): Buffer[] {
  const r = new Reader(body);
  const list = new Reader(r.vector(3, 'certificate_list'));
  r.done('Certificate');
  const out: Buffer[] = [];
  while (list.remaining > 0) out.push(list.vector(3, 'certificate'));
  return out;
}

/** ServerKeyExchange parameters for ECDHE on a named curve: curve_type 3, the curve, the public point. */
export function encodeEcdheParams(point: Buffer): Buffer {
  return Buffer.concat([Buffer.of(3), u16(SECP256R1), vec(1, point)]);
}

export interface EcdheServerKeyExchange {
  params: Buffer;
  point: Buffer;
  sigAlg: number;
  signature: Buffer;
}

export function parseEcdheServerKeyExchange(body: Buffer): EcdheServerKeyExchange {
  const r = new Reader(body);
  if (r.u8('curve_type') !== 3)
    throw new DtlsError(Alert.illegalParameter, 'only named curves are supported');
  if (r.u16('named_curve') !== SECP256R1) throw new DtlsError(Alert.illegalParameter, 'unexpected curve');
  const point = r.vector(1, 'public point');
  const params = body.subarray(0, r.offset);
  const sigAlg = r.u16('signature algorithm');
  const signature = r.vector(2, 'signature');
  r.done('ServerKeyExchange');
  return { params, point, sigAlg, signature };
}

/** A "digitally-signed" struct: algorithm then a 2-byte-length signature. */
export function encodeSigned(sigAlg: number, signature: Buffer): Buffer {
  return Buffer.concat([u16(sigAlg), vec(2, signature)]);
}

export function parseSigned(body: Buffer, what: string): { sigAlg: number; signature: Buffer } {
  const r = new Reader(body);
  const sigAlg = r.u16(`${what} algorithm`);
  const signature = r.vector(2, what);
  r.done(what);
  return { sigAlg, signature };
}

/** CertificateRequest: certificate types, signature algorithms, and an empty CA name list (any CA). */
export function encodeCertificateRequest(): Buffer {
  return Buffer.concat([vec(1, Buffer.of(64, 1)), encodeU16List([SIG_ECDSA_SHA256, SIG_RSA_SHA256]), u16(0)]);
}

/** A single vector body (ClientKeyExchange: psk_identity<2> or ECDH point<1>). */
export function parseSingleVector(body: Buffer, lenBytes: 1 | 2, what: string): Buffer {
  const r = new Reader(body);
  const v = r.vector(lenBytes, what);
  r.done(what);
  return v;
}
