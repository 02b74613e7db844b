/**
 * A DTLS 1.2 server over a datagram socket the caller owns: `receive` takes every datagram with its source,
 * `transmit` (given at construction) sends one. Unknown sources get a stateless HelloVerifyRequest until
 * they echo a valid cookie, so spoofed ClientHellos cost no memory; verified ones get a session. An
 * established session emits plaintext datagrams and sends through `send`, like a UDP peer.
 */
import type { X509Certificate } from 'node:crypto';
import { Association, type AssociationEnd, describeEnd } from './association.js';
import { DEFAULT_VERIFY_DEPTH, type ServerCredentials } from './certs.js';
import { CookieJar } from './cookie.js';
import { encodeHelloVerifyRequest, parseClientHello } from './messages.js';
import type { PskLookup } from './psk.js';
import { type CachedSession, type PeerIdentity, ServerHandshake } from './server-handshake.js';
import { type CipherSuite, SUITES } from './suites.js';
import {
  ContentType,
  DTLS_1_0,
  DTLS_1_2,
  DtlsError,
  encodeHandshake,
  encodeRecord,
  HandshakeType,
  parseHandshakeFragments,
  parseRecords,
} from './wire.js';

export interface DtlsServerOptions {
  /** Sends one datagram to a peer. */
  transmit(datagram: Buffer, port: number, address: string): void;
  /** Enabled suites in preference order (default: all this implementation has). */
  suites?: readonly CipherSuite[];
  psk?: PskLookup;
  credentials?: ServerCredentials;
  verifyPeer?: boolean;
  failIfNoPeerCert?: boolean;
  trusted?: readonly X509Certificate[];
  /** Most intermediate CA certificates in a client's chain (dtls_options.depth; default 10). */
  verifyDepth?: number;
  /** Largest datagram sent (default 1400: fits a 1500-byte path with IPv6 and UDP headers). */
  mtu?: number;
  /** Sessions (established or handshaking) kept at most; further ClientHellos are ignored. */
  maxSessions?: number;
  /** Resumable sessions remembered (default 1000). */
  sessionCacheSize?: number;
  /** A handshake not complete after this many ms (counted from the verified ClientHello) is dropped. */
  handshakeTimeoutMs?: number;
}

export interface DtlsServerEvents {
  /** A handshake completed. */
  onSession(session: DtlsSession): void;
  /** A handshake failed or an association ended with an error (for the log). */
  onFailure?(peer: string, reason: string): void;
}

/** An established association as its user sees it. */
export class DtlsSession {
  /** Plaintext datagrams from the peer. */
  onData: (data: Buffer) => void = () => {};
  /** The association ended (close_notify, alert, timeout, replaced or closed locally). */
  onClose: (end: AssociationEnd) => void = () => {};
  lastReceived = Date.now();
  /** Set by the user once it attached the session to something that manages its lifetime. */
  inUse = false;

  constructor(
    readonly host: string,
    readonly port: number,
    /** The source address exactly as the socket gave it (to send back to). */
    readonly address: string,
    readonly identity: PeerIdentity,
    private readonly assoc: Association,
  ) {}

  get closed(): boolean {
    return this.assoc.closed;
  }

  send(data: Buffer): void {
    this.assoc.send(data);
  }

  /** Sends close_notify and forgets the peer. */
  close(): void {
    this.assoc.close();
  }
}

interface Entry {
  assoc: Association;
  session: DtlsSession | undefined;
  lastReceived: number;
  /** A new handshake from the same address; it replaces this association only once it completes. */
  pending?: Entry;
}

const DEFAULT_MTU = 1400;
/** EMQX's default handshake_timeout. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

export class DtlsServer {
  private readonly cookies = new CookieJar();
  private readonly entries = new Map<string, Entry>();
  private readonly cache = new Map<string, CachedSession>();
  private readonly cacheSize: number;
  /** HelloVerifyRequests sent (what a spoofed flood costs: no state, one small datagram each). */
  helloVerifyRequests = 0;

  constructor(
    private readonly opts: DtlsServerOptions,
    private readonly events: DtlsServerEvents,
  ) {
    this.cacheSize = opts.sessionCacheSize ?? 1000;
  }

  /** Associations currently kept (handshaking or established). */
  get size(): number {
    return this.entries.size;
  }

  /** One datagram from (host, port); `address` is the socket's spelling of host. */
  receive(datagram: Buffer, host: string, port: number, address = host): void {
    const key = `${host}|${port}`;
    const known = this.entries.get(key);
    // An epoch-0 ClientHello from a known address is a new handshake (the device restarted): it goes
    // through the cookie exchange, and the association it starts replaces the old one only once complete
    // (RFC 6347 §4.2.8), so a replayed ClientHello cannot end a live session.
    if (known !== undefined && !(known.session !== undefined && startsClientHello(datagram))) {
      known.lastReceived = Date.now();
      if (known.session !== undefined) known.session.lastReceived = known.lastReceived;
      known.assoc.receive(datagram);
      // Each association drops what it cannot authenticate, so both may look at the datagram.
      known.pending?.assoc.receive(datagram);
      return;
    }
    if (known?.pending !== undefined) {
      known.pending.assoc.receive(datagram);
      return;
    }
    this.hello(datagram, key, host, port, address, known);
  }

  private hello(
    datagram: Buffer,
    key: string,
    host: string,
    port: number,
    address: string,
    known: Entry | undefined,
  ): void {
    const rec = parseRecords(datagram)[0];
    if (rec === undefined || rec.type !== ContentType.handshake || rec.epoch !== 0) return;
    if (rec.version !== DTLS_1_2 && rec.version !== DTLS_1_0) return;
    let frag: ReturnType<typeof parseHandshakeFragments>[number] | undefined;
    let hello: ReturnType<typeof parseClientHello>;
    try {
      frag = parseHandshakeFragments(rec.fragment)[0];
      // A ClientHello must arrive whole: reassembling one would mean keeping state for unverified peers.
      if (
        frag === undefined ||
        frag.msgType !== HandshakeType.clientHello ||
        frag.body.length !== frag.length
      )
        return;
      hello = parseClientHello(frag.body);
    } catch (err) {
      if (err instanceof DtlsError) this.events.onFailure?.(key, `malformed ClientHello: ${err.message}`);
      return;
    }
    if (!this.cookies.check(key, hello)) {
      // RFC 6347 §4.2.1: the HelloVerifyRequest repeats the ClientHello's record and message numbers and
      // uses DTLS 1.0 as its version; with a 32-byte cookie it is never larger than the ClientHello.
      const cookie = this.cookies.make(key, hello);
      const hvr = encodeHandshake(
        HandshakeType.helloVerifyRequest,
        frag.messageSeq,
        encodeHelloVerifyRequest(DTLS_1_0, cookie),
      );
      this.helloVerifyRequests++;
      this.opts.transmit(encodeRecord(ContentType.handshake, DTLS_1_0, 0, rec.seq, hvr), port, address);
      return;
    }
    if (this.entries.size >= (this.opts.maxSessions ?? Number.POSITIVE_INFINITY)) {
      this.events.onFailure?.(key, 'too many DTLS sessions');
      return;
    }
    this.start(key, host, port, address, rec.seq, frag, hello, known);
  }

  private start(
    key: string,
    host: string,
    port: number,
    address: string,
    recordSeq: number,
    frag: { messageSeq: number; msgType: number; body: Buffer },
    hello: ReturnType<typeof parseClientHello>,
    replacing: Entry | undefined,
  ): void {
    const entry: Entry = {
      assoc: undefined as unknown as Association,
      session: undefined,
      lastReceived: Date.now(),
    };
    const assoc = new Association(
      {
        transmit: (d) => this.opts.transmit(d, port, address),
        onEstablished: () => {},
        onData: (d) => entry.session?.onData(d),
        onClose: (end) => {
          clearTimeout(deadline);
          if (this.entries.get(key) === entry) this.entries.delete(key);
          if (replacing?.pending === entry) replacing.pending = undefined;
          if (
            end.kind === 'alert_sent' ||
            end.kind === 'alert_received' ||
            (end.kind === 'timeout' && entry.session === undefined)
          )
            this.events.onFailure?.(key, describeEnd(end));
          entry.session?.onClose(end);
        },
      },
      this.opts.mtu ?? DEFAULT_MTU,
      { record: recordSeq, send: frag.messageSeq, recv: frag.messageSeq + 1 },
    );
    entry.assoc = assoc;
    const deadline = setTimeout(() => {
      if (entry.session === undefined) assoc.expire();
    }, this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    deadline.unref();
    const logic = new ServerHandshake(
      assoc,
      {
        suites: this.opts.suites ?? SUITES,
        psk: this.opts.psk,
        credentials: this.opts.credentials,
        verifyPeer: this.opts.verifyPeer ?? false,
        failIfNoPeerCert: this.opts.failIfNoPeerCert ?? false,
        trusted: this.opts.trusted ?? [],
        verifyDepth: this.opts.verifyDepth ?? DEFAULT_VERIFY_DEPTH,
        sessions: {
          get: (id) => this.cache.get(id),
          set: (id, s) => this.remember(id, s),
        },
      },
      (identity) => {
        clearTimeout(deadline);
        if (replacing !== undefined) {
          replacing.pending = undefined;
          this.forget(key, replacing, 'replaced');
          this.entries.set(key, entry);
        }
        entry.session = new DtlsSession(host, port, address, identity, assoc);
        assoc.markEstablished();
        this.events.onSession(entry.session);
      },
    );
    assoc.logic = logic;
    if (replacing === undefined) this.entries.set(key, entry);
    else replacing.pending = entry;
    try {
      logic.start(hello, { msgType: frag.msgType, messageSeq: frag.messageSeq, body: frag.body });
    } catch (err) {
      assoc.fail(err instanceof DtlsError ? err : new DtlsError(80, (err as Error).message));
    }
  }

  private remember(id: string, s: CachedSession): void {
    if (this.cacheSize === 0) return;
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(id, s);
  }

  private forget(key: string, entry: Entry, _why: string): void {
    this.entries.delete(key);
    entry.assoc.drop();
  }

  /** The session of a peer, when established. */
  session(host: string, port: number): DtlsSession | undefined {
    return this.entries.get(`${host}|${port}`)?.session;
  }

  /** Drops associations silent since `limit` (epoch ms) that nobody took ownership of. */
  sweep(limit: number): void {
    for (const [key, e] of [...this.entries]) {
      if (e.lastReceived <= limit && !(e.session?.inUse ?? false)) this.forget(key, e, 'idle');
    }
  }

  /** Sends close_notify to every peer and forgets them. */
  closeAll(): void {
    for (const e of [...this.entries.values()]) e.assoc.close();
    this.entries.clear();
  }
}

/** True if the datagram's first record is an epoch-0 handshake record holding a ClientHello. */
function startsClientHello(d: Buffer): boolean {
  return (
    d.length > 13 + 12 &&
    d[0] === ContentType.handshake &&
    d.readUInt16BE(3) === 0 &&
    d[13] === HandshakeType.clientHello
  );
}
