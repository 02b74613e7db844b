/**
 * The client side of the DTLS 1.2 handshake, used by tests, benchmarks and anything in Hermod that dials a
 * DTLS peer: cookie exchange, PSK or ECDHE key exchange, and resumption of a session it was given.
 * The server certificate's signature over the key exchange is checked; its chain is not (no CA is given).
 */
import { createECDH, randomBytes, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import type { Association, HandshakeLogic } from './association.js';
import type { HandshakeMessage } from './flight.js';
import {
  EMPTY_RENEGOTIATION_SCSV,
  Extension,
  encodeClientHello,
  encodeU16List,
  parseCertificateList,
  parseEcdheServerKeyExchange,
  parseHelloVerifyRequest,
  parseServerHello,
  SECP256R1,
  SIG_ECDSA_SHA256,
  SIG_RSA_SHA256,
} from './messages.js';
import {
  type CipherSuite,
  deriveKeys,
  masterSecret,
  prf,
  pskPreMaster,
  SUITES,
  suiteById,
} from './suites.js';
import { Alert, DTLS_1_2, DtlsError, HandshakeType, vec } from './wire.js';

/** A session a client may resume. */
export interface ClientSession {
  id: Buffer;
  suite: CipherSuite;
  masterSecret: Buffer;
  extendedMasterSecret: boolean;
}

export interface ClientHandshakeConfig {
  suites?: readonly CipherSuite[];
  psk?: { identity: string; key: Buffer };
  /** Offer extended_master_secret (default true). */
  extendedMasterSecret?: boolean;
  resume?: ClientSession;
  /** The version put in the ClientHello (tests offer an old one to check the server refuses it). */
  version?: number;
}

type State = 'hello' | 'server-flight' | 'expect-ccs' | 'expect-finished' | 'done';

export class ClientHandshake implements HandshakeLogic {
  private state: State = 'hello';
  private readonly random = randomBytes(32);
  private serverRandom!: Buffer;
  private suite!: CipherSuite;
  private ms: Buffer | undefined;
  private serverKey: X509Certificate | undefined;
  private serverPoint: Buffer | undefined;
  private certRequested = false;
  private ems = false;
  private resumed = false;
  private sessionId = Buffer.alloc(0);

  constructor(
    private readonly assoc: Association,
    private readonly config: ClientHandshakeConfig,
    private readonly onDone: (session: ClientSession) => void,
  ) {}

  get awaitingFinished(): boolean {
    return this.state === 'expect-finished';
  }

  private suites(): readonly CipherSuite[] {
    const all = this.config.suites ?? SUITES;
    return all.filter(
      (s) => (s.kx === 'psk') === (this.config.psk !== undefined) || this.config.suites !== undefined,
    );
  }

  /** Sends the first ClientHello. */
  start(cookie: Buffer = Buffer.alloc(0)): void {
    const extensions = new Map<number, Buffer>([
      [Extension.supportedGroups, encodeU16List([SECP256R1])],
      [Extension.ecPointFormats, Buffer.of(1, 0)],
      [Extension.signatureAlgorithms, encodeU16List([SIG_ECDSA_SHA256, SIG_RSA_SHA256])],
    ]);
    if (this.config.extendedMasterSecret ?? true)
      extensions.set(Extension.extendedMasterSecret, Buffer.alloc(0));
    const body = encodeClientHello({
      version: this.config.version ?? DTLS_1_2,
      random: this.random,
      sessionId: this.config.resume?.id ?? Buffer.alloc(0),
      cookie,
      suites: [...this.suites().map((s) => s.id), EMPTY_RENEGOTIATION_SCSV],
      compressions: Buffer.of(0),
      extensions,
    });
    const flights = this.assoc.flights;
    flights.begin();
    flights.add(HandshakeType.clientHello, body);
    flights.send(true);
  }

  onChangeCipherSpec(): void {
    if (this.state === 'expect-ccs' && this.assoc.records.switchRead()) this.state = 'expect-finished';
  }

  onMessage(m: HandshakeMessage): void {
    const flights = this.assoc.flights;
    if (m.msgType === HandshakeType.helloVerifyRequest && this.state === 'hello') {
      const cookie = parseHelloVerifyRequest(m.body);
      // The first ClientHello and the HelloVerifyRequest are not part of the transcript (RFC 6347 §4.2.1).
      flights.transcript.length = 0;
      this.start(cookie);
      return;
    }
    if (m.msgType === HandshakeType.finished) {
      this.onFinished(m);
      return;
    }
    if (m.msgType !== HandshakeType.serverHello && this.state !== 'server-flight')
      throw new DtlsError(Alert.unexpectedMessage, `unexpected handshake message ${m.msgType}`);
    flights.record(m);
    switch (m.msgType) {
      case HandshakeType.serverHello:
        this.onServerHello(m.body);
        return;
      case HandshakeType.certificate: {
        const leaf = parseCertificateList(m.body)[0];
        if (leaf === undefined) throw new DtlsError(Alert.badCertificate, 'server sent no certificate');
        this.serverKey = new X509Certificate(leaf);
        return;
      }
      case HandshakeType.serverKeyExchange:
        this.onServerKeyExchange(m.body);
        return;
      case HandshakeType.certificateRequest:
        this.certRequested = true;
        return;
      case HandshakeType.serverHelloDone:
        this.sendKeyExchange();
        return;
      default:
        throw new DtlsError(Alert.unexpectedMessage, `unexpected handshake message ${m.msgType}`);
    }
  }

  private onServerHello(body: Buffer): void {
    if (this.state !== 'hello') throw new DtlsError(Alert.unexpectedMessage, 'second ServerHello');
    const sh = parseServerHello(body);
    if (sh.version !== DTLS_1_2) throw new DtlsError(Alert.protocolVersion, 'server did not choose DTLS 1.2');
    const suite = suiteById(sh.suite);
    if (suite === undefined || !this.suites().includes(suite))
      throw new DtlsError(Alert.illegalParameter, 'server chose a suite not offered');
    this.suite = suite;
    this.serverRandom = sh.random;
    this.sessionId = Buffer.from(sh.sessionId);
    this.ems = sh.extensions.has(Extension.extendedMasterSecret);
    const resume = this.config.resume;
    if (resume !== undefined && sh.sessionId.length > 0 && sh.sessionId.equals(resume.id)) {
      this.resumed = true;
      this.ms = resume.masterSecret;
      this.installKeys();
      this.state = 'expect-ccs';
      return;
    }
    this.state = 'server-flight';
  }

  private onServerKeyExchange(body: Buffer): void {
    if (this.suite.kx === 'psk') return; // a PSK identity hint: nothing to do with it
    const ske = parseEcdheServerKeyExchange(body);
    const key = this.serverKey?.publicKey;
    if (key === undefined)
      throw new DtlsError(Alert.unexpectedMessage, 'ServerKeyExchange before Certificate');
    const signed = Buffer.concat([this.random, this.serverRandom, ske.params]);
    if (!verify('sha256', signed, key, ske.signature))
      throw new DtlsError(Alert.decryptError, 'ServerKeyExchange signature does not verify');
    this.serverPoint = ske.point;
  }

  private sendKeyExchange(): void {
    let preMaster: Buffer;
    let cke: Buffer;
    if (this.suite.kx === 'psk') {
      const psk = this.config.psk;
      if (psk === undefined) throw new DtlsError(Alert.handshakeFailure, 'no PSK configured');
      cke = vec(2, Buffer.from(psk.identity));
      preMaster = pskPreMaster(psk.key);
    } else {
      if (this.serverPoint === undefined)
        throw new DtlsError(Alert.unexpectedMessage, 'no ServerKeyExchange');
      const ecdh = createECDH('prime256v1');
      cke = vec(1, ecdh.generateKeys());
      preMaster = ecdh.computeSecret(this.serverPoint);
    }
    const flights = this.assoc.flights;
    flights.begin();
    if (this.certRequested) flights.add(HandshakeType.certificate, vec(3, Buffer.alloc(0)));
    flights.add(HandshakeType.clientKeyExchange, cke);
    this.ms = masterSecret(preMaster, this.random, this.serverRandom, this.ems ? flights.hash() : undefined);
    this.installKeys();
    flights.addChangeCipherSpec();
    flights.add(HandshakeType.finished, prf(this.ms, 'client finished', flights.hash(), 12));
    // State first: a peer on the same event loop may answer before send returns.
    this.state = 'expect-ccs';
    flights.send(true);
  }

  private installKeys(): void {
    const keys = deriveKeys(this.suite, this.ms!, this.random, this.serverRandom);
    this.assoc.records.setPending(keys.server, keys.client);
  }

  private onFinished(m: HandshakeMessage): void {
    if (this.state !== 'expect-finished') throw new DtlsError(Alert.unexpectedMessage, 'unexpected Finished');
    const flights = this.assoc.flights;
    const expected = prf(this.ms!, 'server finished', flights.hash(), 12);
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected))
      throw new DtlsError(Alert.decryptError, 'server Finished verify_data mismatch');
    flights.record(m);
    if (this.resumed) {
      flights.begin();
      flights.addChangeCipherSpec();
      flights.add(HandshakeType.finished, prf(this.ms!, 'client finished', flights.hash(), 12));
      flights.send(false);
    } else {
      flights.stopTimer();
    }
    this.state = 'done';
    this.onDone({
      id: this.sessionId,
      suite: this.suite,
      masterSecret: this.ms!,
      extendedMasterSecret: this.ems,
    });
  }
}
