/**
 * The server side of the DTLS 1.2 handshake, after the cookie exchange: full handshakes with PSK or ECDHE
 * key exchange (optionally asking for a client certificate) and abbreviated ones resuming a cached session.
 */
import { createECDH, randomBytes, sign, timingSafeEqual, verify, type X509Certificate } from 'node:crypto';
import type { Association, HandshakeLogic } from './association.js';
import { type ServerCredentials, verifyChain } from './certs.js';
import type { HandshakeMessage } from './flight.js';
import {
  type ClientHello,
  EMPTY_RENEGOTIATION_SCSV,
  Extension,
  encodeCertificateList,
  encodeCertificateRequest,
  encodeEcdheParams,
  encodeServerHello,
  encodeSigned,
  parseCertificateList,
  parseSigned,
  parseSingleVector,
  parseU16List,
  SECP256R1,
  SIG_ECDSA_SHA256,
  SIG_RSA_SHA256,
} from './messages.js';
import type { PskLookup } from './psk.js';
import { type CipherSuite, deriveKeys, masterSecret, prf, pskPreMaster } from './suites.js';
import { Alert, DTLS_1_2, DtlsError, HandshakeType } from './wire.js';

/** What a finished handshake learned about the peer. */
export interface PeerIdentity {
  suite: CipherSuite;
  pskIdentity?: string;
  /** The verified client certificate (leaf). */
  certificate?: X509Certificate;
  /** True when this handshake resumed a cached session. */
  resumed?: boolean;
}

/** A resumable session (RFC 5246 §7.3). */
export interface CachedSession {
  masterSecret: Buffer;
  identity: PeerIdentity;
  extendedMasterSecret: boolean;
}

export interface SessionCache {
  get(id: string): CachedSession | undefined;
  set(id: string, s: CachedSession): void;
}

/** The server's configuration as the handshake uses it. */
export interface ServerHandshakeConfig {
  /** Enabled suites in preference order. */
  suites: readonly CipherSuite[];
  psk?: PskLookup;
  credentials?: ServerCredentials;
  /** Ask for a client certificate (verify_peer). */
  verifyPeer: boolean;
  failIfNoPeerCert: boolean;
  trusted: readonly X509Certificate[];
  /** Most intermediate CA certificates in a client's chain (dtls_options.depth). */
  verifyDepth: number;
  sessions: SessionCache;
}

type State = 'client-flight' | 'expect-ccs' | 'expect-finished' | 'abbrev-ccs' | 'abbrev-finished' | 'done';

export class ServerHandshake implements HandshakeLogic {
  private state: State = 'client-flight';
  private suite!: CipherSuite;
  private clientRandom!: Buffer;
  private readonly serverRandom = randomBytes(32);
  private sessionId = randomBytes(32);
  private ems = false;
  private ecdh: ReturnType<typeof createECDH> | undefined;
  private ms: Buffer | undefined;
  private certRequested = false;
  private peerCert: X509Certificate | undefined;
  private pskIdentity: string | undefined;
  private keyExchanged = false;
  private verified = false;

  constructor(
    private readonly assoc: Association,
    private readonly config: ServerHandshakeConfig,
    private readonly onDone: (identity: PeerIdentity) => void,
  ) {}

  get awaitingFinished(): boolean {
    return this.state === 'expect-finished' || this.state === 'abbrev-finished';
  }

  /** Answers a ClientHello whose cookie checked out. */
  start(hello: ClientHello, message: HandshakeMessage): void {
    const flights = this.assoc.flights;
    flights.record(message);
    // A client offering only DTLS 1.0 (0xfeff) is below what this server speaks: refuse the downgrade.
    if (hello.version > DTLS_1_0_OR_LOWER_THRESHOLD)
      throw new DtlsError(
        Alert.protocolVersion,
        `client offers ${versionName(hello.version)} only; DTLS 1.2 is required`,
      );
    if (!hello.compressions.includes(0))
      throw new DtlsError(Alert.illegalParameter, 'null compression not offered');
    this.clientRandom = hello.random;
    const extensions = new Map<number, Buffer>();
    if (hello.suites.includes(EMPTY_RENEGOTIATION_SCSV) || hello.extensions.has(Extension.renegotiationInfo))
      extensions.set(Extension.renegotiationInfo, Buffer.of(0));
    this.ems = hello.extensions.has(Extension.extendedMasterSecret);
    if (this.ems) extensions.set(Extension.extendedMasterSecret, Buffer.alloc(0));

    const cached =
      hello.sessionId.length > 0 ? this.config.sessions.get(hello.sessionId.toString('hex')) : undefined;
    if (
      cached !== undefined &&
      hello.suites.includes(cached.identity.suite.id) &&
      cached.extendedMasterSecret === this.ems
    ) {
      this.resume(hello, cached, extensions);
      return;
    }
    this.suite = this.pickSuite(hello);
    if (this.suite.kx !== 'psk') extensions.set(Extension.ecPointFormats, Buffer.of(1, 0));
    flights.begin();
    flights.add(HandshakeType.serverHello, this.serverHello(extensions));
    if (this.suite.kx !== 'psk') this.addEcdheMessages();
    if (this.config.verifyPeer && this.suite.kx !== 'psk') {
      this.certRequested = true;
      flights.add(HandshakeType.certificateRequest, encodeCertificateRequest());
    }
    flights.add(HandshakeType.serverHelloDone, Buffer.alloc(0));
    flights.send(true);
  }

  private serverHello(extensions: Map<number, Buffer>): Buffer {
    return encodeServerHello({
      version: DTLS_1_2,
      random: this.serverRandom,
      sessionId: this.sessionId,
      suite: this.suite.id,
      extensions,
    });
  }

  private pickSuite(hello: ClientHello): CipherSuite {
    const groups = hello.extensions.get(Extension.supportedGroups);
    const ecdheOk = groups === undefined || parseU16List(groups, 'supported_groups').includes(SECP256R1);
    const sigs = hello.extensions.get(Extension.signatureAlgorithms);
    const sigList = sigs === undefined ? undefined : parseU16List(sigs, 'signature_algorithms');
    const creds = this.config.credentials;
    for (const s of this.config.suites) {
      if (!hello.suites.includes(s.id)) continue;
      if (s.kx === 'psk' && this.config.psk !== undefined) return s;
      if (s.kx === 'psk' || creds === undefined || !ecdheOk) continue;
      const wanted = creds.kind === 'ecdsa' ? SIG_ECDSA_SHA256 : SIG_RSA_SHA256;
      if (
        (s.kx === 'ecdhe_ecdsa') === (creds.kind === 'ecdsa') &&
        (sigList === undefined || sigList.includes(wanted))
      )
        return s;
    }
    throw new DtlsError(Alert.handshakeFailure, 'no cipher suite in common');
  }

  private addEcdheMessages(): void {
    const creds = this.config.credentials!;
    const flights = this.assoc.flights;
    flights.add(HandshakeType.certificate, encodeCertificateList(creds.chain));
    this.ecdh = createECDH('prime256v1');
    const params = encodeEcdheParams(this.ecdh.generateKeys());
    const signed = sign('sha256', Buffer.concat([this.clientRandom, this.serverRandom, params]), creds.key);
    const sigAlg = creds.kind === 'ecdsa' ? SIG_ECDSA_SHA256 : SIG_RSA_SHA256;
    flights.add(HandshakeType.serverKeyExchange, Buffer.concat([params, encodeSigned(sigAlg, signed)]));
  }

  private resume(hello: ClientHello, cached: CachedSession, extensions: Map<number, Buffer>): void {
    this.suite = cached.identity.suite;
    this.sessionId = Buffer.from(hello.sessionId);
    this.ms = cached.masterSecret;
    this.pskIdentity = cached.identity.pskIdentity;
    this.peerCert = cached.identity.certificate;
    const flights = this.assoc.flights;
    flights.begin();
    flights.add(HandshakeType.serverHello, this.serverHello(extensions));
    this.installKeys();
    flights.addChangeCipherSpec();
    flights.add(HandshakeType.finished, this.verifyData('server finished'));
    flights.send(true);
    this.state = 'abbrev-ccs';
  }

  onChangeCipherSpec(): void {
    // A ChangeCipherSpec overtaking the messages before it is dropped; the client's retransmission repairs it.
    if (this.state === 'abbrev-ccs' || (this.state === 'client-flight' && this.readyForCcs())) {
      this.assoc.records.switchRead();
      this.state = this.state === 'abbrev-ccs' ? 'abbrev-finished' : 'expect-finished';
    }
  }

  private readyForCcs(): boolean {
    return this.keyExchanged && (this.peerCert === undefined || this.verified);
  }

  onMessage(m: HandshakeMessage): void {
    switch (m.msgType) {
      case HandshakeType.certificate:
        this.onCertificate(m);
        return;
      case HandshakeType.clientKeyExchange:
        this.onClientKeyExchange(m);
        return;
      case HandshakeType.certificateVerify:
        this.onCertificateVerify(m);
        return;
      case HandshakeType.finished:
        this.onFinished(m);
        return;
      default:
        throw new DtlsError(Alert.unexpectedMessage, `unexpected handshake message ${m.msgType}`);
    }
  }

  private expect(ok: boolean, what: string): void {
    if (!ok) throw new DtlsError(Alert.unexpectedMessage, `unexpected ${what}`);
  }

  private onCertificate(m: HandshakeMessage): void {
    this.expect(this.state === 'client-flight' && this.certRequested && !this.keyExchanged, 'Certificate');
    const ders = parseCertificateList(m.body);
    this.assoc.flights.record(m);
    if (ders.length === 0) {
      if (this.config.failIfNoPeerCert)
        throw new DtlsError(Alert.handshakeFailure, 'peer did not return a certificate');
      return;
    }
    this.peerCert = verifyChain(ders, this.config.trusted, this.config.verifyDepth);
  }

  private onClientKeyExchange(m: HandshakeMessage): void {
    this.expect(this.state === 'client-flight' && !this.keyExchanged, 'ClientKeyExchange');
    if (this.certRequested && this.peerCert === undefined && this.config.failIfNoPeerCert)
      throw new DtlsError(Alert.handshakeFailure, 'peer did not return a certificate');
    let preMaster: Buffer;
    if (this.suite.kx === 'psk') {
      const identity = parseSingleVector(m.body, 2, 'psk_identity').toString('utf8');
      const key = this.config.psk?.(identity);
      if (key === undefined)
        throw new DtlsError(Alert.unknownPskIdentity, `unknown PSK identity ${JSON.stringify(identity)}`);
      this.pskIdentity = identity;
      preMaster = pskPreMaster(key);
    } else {
      const point = parseSingleVector(m.body, 1, 'ecdh_Yc');
      try {
        preMaster = this.ecdh!.computeSecret(point);
      } catch {
        throw new DtlsError(Alert.illegalParameter, 'invalid ECDH public point');
      }
    }
    this.assoc.flights.record(m);
    this.ms = masterSecret(
      preMaster,
      this.clientRandom,
      this.serverRandom,
      this.ems ? this.assoc.flights.hash() : undefined,
    );
    this.installKeys();
    this.keyExchanged = true;
  }

  private installKeys(): void {
    const keys = deriveKeys(this.suite, this.ms!, this.clientRandom, this.serverRandom);
    this.assoc.records.setPending(keys.client, keys.server);
  }

  private onCertificateVerify(m: HandshakeMessage): void {
    this.expect(
      this.state === 'client-flight' && this.keyExchanged && this.peerCert !== undefined && !this.verified,
      'CertificateVerify',
    );
    const { sigAlg, signature } = parseSigned(m.body, 'CertificateVerify');
    const hash = HASHES.get(sigAlg >> 8);
    if (hash === undefined)
      throw new DtlsError(Alert.illegalParameter, `unsupported signature algorithm ${sigAlg}`);
    const ok = verify(hash, this.assoc.flights.transcriptBytes(), this.peerCert!.publicKey, signature);
    if (!ok)
      throw new DtlsError(Alert.decryptError, 'CertificateVerify signature does not match the certificate');
    this.assoc.flights.record(m);
    this.verified = true;
  }

  private verifyData(label: string): Buffer {
    return prf(this.ms!, label, this.assoc.flights.hash(), 12);
  }

  private onFinished(m: HandshakeMessage): void {
    this.expect(this.awaitingFinished, 'Finished');
    const expected = this.verifyData('client finished');
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected))
      throw new DtlsError(Alert.decryptError, 'Finished verify_data mismatch');
    const flights = this.assoc.flights;
    flights.record(m);
    if (this.state === 'expect-finished') {
      flights.begin();
      flights.addChangeCipherSpec();
      flights.add(HandshakeType.finished, this.verifyData('server finished'));
      flights.send(false);
    } else {
      flights.stopTimer();
    }
    const identity: PeerIdentity = { suite: this.suite };
    if (this.state === 'abbrev-finished') identity.resumed = true;
    this.state = 'done';
    if (this.pskIdentity !== undefined) identity.pskIdentity = this.pskIdentity;
    if (this.peerCert !== undefined) identity.certificate = this.peerCert;
    this.config.sessions.set(this.sessionId.toString('hex'), {
      masterSecret: this.ms!,
      identity,
      extendedMasterSecret: this.ems,
    });
    this.onDone(identity);
  }
}

/** Record versions numerically above this are older than DTLS 1.2 (DTLS numbers count down). */
const DTLS_1_0_OR_LOWER_THRESHOLD = DTLS_1_2;

const HASHES = new Map<number, string>([
  [4, 'sha256'],
  [5, 'sha384'],
  [6, 'sha512'],
]);

function versionName(v: number): string {
  if (v === 0xfeff) return 'DTLS 1.0';
  if (v === 0xfefd) return 'DTLS 1.2';
  return `version 0x${v.toString(16)}`;
}
