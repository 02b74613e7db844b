/**
 * The cipher suites (RFC 4279/5487 PSK, RFC 6655/7251 CCM_8, RFC 5289/8422 ECDHE), the TLS 1.2 PRF and the
 * record protection each suite uses, on node:crypto. All suites here are AES-128 with the SHA-256 PRF.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyExchange = 'psk' | 'ecdhe_ecdsa' | 'ecdhe_rsa';
export type BulkCipher = 'ccm8' | 'gcm' | 'cbc';

export interface CipherSuite {
  id: number;
  /** IANA name. */
  name: string;
  /** OpenSSL's name (what `ciphers` in dtls_options may list too). */
  openssl: string;
  kx: KeyExchange;
  cipher: BulkCipher;
}

export const SUITES: readonly CipherSuite[] = [
  { id: 0xc0a8, name: 'TLS_PSK_WITH_AES_128_CCM_8', openssl: 'PSK-AES128-CCM8', kx: 'psk', cipher: 'ccm8' },
  {
    id: 0x00a8,
    name: 'TLS_PSK_WITH_AES_128_GCM_SHA256',
    openssl: 'PSK-AES128-GCM-SHA256',
    kx: 'psk',
    cipher: 'gcm',
  },
  {
    id: 0x00ae,
    name: 'TLS_PSK_WITH_AES_128_CBC_SHA256',
    openssl: 'PSK-AES128-CBC-SHA256',
    kx: 'psk',
    cipher: 'cbc',
  },
  {
    id: 0xc0ae,
    name: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8',
    openssl: 'ECDHE-ECDSA-AES128-CCM8',
    kx: 'ecdhe_ecdsa',
    cipher: 'ccm8',
  },
  {
    id: 0xc02b,
    name: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    openssl: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    kx: 'ecdhe_ecdsa',
    cipher: 'gcm',
  },
  {
    id: 0xc02f,
    name: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    openssl: 'ECDHE-RSA-AES128-GCM-SHA256',
    kx: 'ecdhe_rsa',
    cipher: 'gcm',
  },
];

const BY_ID = new Map(SUITES.map((s) => [s.id, s]));

export function suiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}

/**
 * The suites a `ciphers` list names, in its order; IANA and OpenSSL spellings both work, unknown names are
 * returned apart so configuration can report them. An empty list means every suite.
 */
export function selectSuites(names: readonly string[]): { suites: CipherSuite[]; unknown: string[] } {
  if (names.length === 0) return { suites: [...SUITES], unknown: [] };
  const suites: CipherSuite[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const s = SUITES.find((x) => x.name === n || x.openssl === n);
    if (s === undefined) unknown.push(n);
    else if (!suites.includes(s)) suites.push(s);
  }
  return { suites, unknown };
}

/** TLS 1.2 PRF with HMAC-SHA256 (RFC 5246 §5). */
export function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a = labelSeed;
  let filled = 0;
  while (filled < length) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    filled += block.copy(out, filled);
  }
  return out;
}

/** One direction's record protection (keys of one epoch). */
export interface RecordCipher {
  /** Protects `plain` as record (type, version, epoch/seq); returns the fragment to put on the wire. */
  encrypt(type: number, version: number, epoch: number, seq: number, plain: Buffer): Buffer;
  /** The plaintext, or undefined when authentication fails (the record is then dropped). */
  decrypt(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | undefined;
}

/** The 13-byte additional data / MAC header: seq_num(epoch+seq) type version length. */
function additionalData(type: number, version: number, epoch: number, seq: number, length: number): Buffer {
  const ad = Buffer.allocUnsafe(13);
  ad.writeUInt16BE(epoch, 0);
  ad.writeUIntBE(seq, 2, 6);
  ad[8] = type;
  ad.writeUInt16BE(version, 9);
  ad.writeUInt16BE(length, 11);
  return ad;
}

/** AES-128-CCM_8 or AES-128-GCM: nonce = 4-byte implicit IV + 8-byte explicit part (epoch and seq). */
class AeadCipher implements RecordCipher {
  constructor(
    private readonly algorithm: 'aes-128-ccm' | 'aes-128-gcm',
    private readonly tagLength: 8 | 16,
    private readonly key: Buffer,
    private readonly implicitIv: Buffer,
  ) {}

  private nonce(explicit: Buffer): Buffer {
    return Buffer.concat([this.implicitIv, explicit]);
  }

  encrypt(type: number, version: number, epoch: number, seq: number, plain: Buffer): Buffer {
    const explicit = Buffer.allocUnsafe(8);
    explicit.writeUInt16BE(epoch, 0);
    explicit.writeUIntBE(seq, 2, 6);
    const c = createCipheriv(this.algorithm as 'aes-128-ccm', this.key, this.nonce(explicit), {
      authTagLength: this.tagLength,
    });
    c.setAAD(additionalData(type, version, epoch, seq, plain.length), { plaintextLength: plain.length });
    const body = c.update(plain);
    c.final();
    return Buffer.concat([explicit, body, c.getAuthTag()]);
  }

  decrypt(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | undefined {
    const n = fragment.length - 8 - this.tagLength;
    if (n < 0) return undefined;
    const body = fragment.subarray(8, 8 + n);
    const d = createDecipheriv(
      this.algorithm as 'aes-128-ccm',
      this.key,
      this.nonce(fragment.subarray(0, 8)),
      {
        authTagLength: this.tagLength,
      },
    );
    d.setAuthTag(fragment.subarray(8 + n));
    d.setAAD(additionalData(type, version, epoch, seq, n), { plaintextLength: n });
    try {
      const plain = d.update(body);
      d.final();
      return plain;
    } catch {
      return undefined;
    }
  }
}

/** AES-128-CBC with HMAC-SHA256, MAC-then-encrypt and an explicit random IV per record (RFC 5246 §6.2.3.2). */
class CbcCipher implements RecordCipher {
  constructor(
    private readonly macKey: Buffer,
    private readonly key: Buffer,
  ) {}

  private mac(type: number, version: number, epoch: number, seq: number, plain: Buffer): Buffer {
    return createHmac('sha256', this.macKey)
      .update(additionalData(type, version, epoch, seq, plain.length))
      .update(plain)
      .digest();
  }

  encrypt(type: number, version: number, epoch: number, seq: number, plain: Buffer): Buffer {
    const mac = this.mac(type, version, epoch, seq, plain);
    const padLen = 15 - ((plain.length + mac.length) % 16);
    const padding = Buffer.alloc(padLen + 1, padLen);
    const iv = randomBytes(16);
    const c = createCipheriv('aes-128-cbc', this.key, iv).setAutoPadding(false);
    return Buffer.concat([iv, c.update(Buffer.concat([plain, mac, padding])), c.final()]);
  }

  decrypt(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | undefined {
    if (fragment.length < 16 + 48 || fragment.length % 16 !== 0) return undefined;
    const d = createDecipheriv('aes-128-cbc', this.key, fragment.subarray(0, 16)).setAutoPadding(false);
    const inner = Buffer.concat([d.update(fragment.subarray(16)), d.final()]);
    const padLen = inner[inner.length - 1]!;
    // Padding and MAC are both checked before deciding, so a bad pad and a bad MAC look the same.
    let bad = padLen + 1 + 32 > inner.length ? 1 : 0;
    const pad = bad ? 0 : padLen;
    for (let i = inner.length - 1 - pad; i < inner.length; i++) if (inner[i] !== pad) bad = 1;
    const plainLen = Math.max(0, inner.length - pad - 1 - 32);
    const plain = inner.subarray(0, plainLen);
    const mac = this.mac(type, version, epoch, seq, plain);
    const ok = timingSafeEqual(mac, inner.subarray(plainLen, plainLen + 32));
    return ok && bad === 0 ? plain : undefined;
  }
}

/** Both directions' record protection of one session, derived from the master secret (RFC 5246 §6.3). */
export interface SessionKeys {
  client: RecordCipher;
  server: RecordCipher;
}

export function deriveKeys(
  suite: CipherSuite,
  masterSecret: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): SessionKeys {
  const macLen = suite.cipher === 'cbc' ? 32 : 0;
  const ivLen = suite.cipher === 'cbc' ? 0 : 4;
  const block = prf(
    masterSecret,
    'key expansion',
    Buffer.concat([serverRandom, clientRandom]),
    2 * (macLen + 16 + ivLen),
  );
  let at = 0;
  const take = (n: number): Buffer => block.subarray(at, (at += n));
  const clientMac = take(macLen);
  const serverMac = take(macLen);
  const clientKey = take(16);
  const serverKey = take(16);
  const clientIv = take(ivLen);
  const serverIv = take(ivLen);
  const make = (mac: Buffer, key: Buffer, iv: Buffer): RecordCipher =>
    suite.cipher === 'cbc'
      ? new CbcCipher(mac, key)
      : suite.cipher === 'ccm8'
        ? new AeadCipher('aes-128-ccm', 8, key, iv)
        : new AeadCipher('aes-128-gcm', 16, key, iv);
  return { client: make(clientMac, clientKey, clientIv), server: make(serverMac, serverKey, serverIv) };
}

/** The master secret; with extended_master_secret (RFC 7627) bound to the handshake's transcript hash. */
export function masterSecret(
  preMaster: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
  sessionHash: Buffer | undefined,
): Buffer {
  return sessionHash === undefined
    ? prf(preMaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48)
    : prf(preMaster, 'extended master secret', sessionHash, 48);
}

/** The PSK premaster secret (RFC 4279 §2): zeros as long as the key, then the key, each length-prefixed. */
export function pskPreMaster(psk: Buffer): Buffer {
  const out = Buffer.alloc(4 + 2 * psk.length);
  out.writeUInt16BE(psk.length, 0);
  out.writeUInt16BE(psk.length, 2 + psk.length);
  psk.copy(out, 4 + psk.length);
  return out;
}
