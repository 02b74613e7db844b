/**
 * Property-based fuzzing of the DTLS parsers and of the server's receive path: whatever arrives, parsers
 * fail only with DtlsError and the server never throws; an established session survives the garbage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Association } from '../../../src/transport/dtls/association.js';
import {
  parseCertificateList,
  parseClientHello,
  parseEcdheServerKeyExchange,
  parseHelloVerifyRequest,
  parseServerHello,
  parseSigned,
  parseU16List,
} from '../../../src/transport/dtls/messages.js';
import { DtlsServer, type DtlsSession } from '../../../src/transport/dtls/server.js';
import { DtlsError, parseHandshakeFragments, parseRecords } from '../../../src/transport/dtls/wire.js';
import { memoryClient, testPsk } from './helpers.js';

const RUNS = { numRuns: 2000 };

function onlyDtlsErrors(f: (b: Buffer) => unknown): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      f(Buffer.from(bytes));
    } catch (err) {
      if (!(err instanceof DtlsError)) throw err;
    }
  };
}

/** A server and a client wired back to back in memory; returns them once the handshake completed. */
function pair(): {
  server: DtlsServer;
  session: DtlsSession;
  clientSent: Buffer[];
  client: Association;
  pump: () => void;
} {
  const clientSent: Buffer[] = [];
  // Datagrams wait in queues and are delivered by `pump`, as a network would: never inside a send.
  const toClient: Buffer[] = [];
  const toServer: Buffer[] = [];
  let session: DtlsSession | undefined;
  let client: Association | undefined;
  const server = new DtlsServer(
    { psk: testPsk().lookup, transmit: (d) => toClient.push(d) },
    { onSession: (s) => (session = s) },
  );
  const mem = memoryClient((d) => {
    clientSent.push(d);
    toServer.push(d);
  });
  client = mem.client;
  mem.start();
  const pump = (): void => {
    while (toClient.length + toServer.length > 0) {
      const c = toClient.shift();
      if (c !== undefined) client!.receive(c);
      const s = toServer.shift();
      if (s !== undefined) server.receive(s, '10.0.0.1', 5000);
    }
  };
  pump();
  assert.ok(session !== undefined, 'in-memory handshake completed');
  return { server, session, clientSent, client, pump };
}

describe('dtls: fuzzing', () => {
  it('record and handshake parsers fail only with DtlsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        parseRecords(Buffer.from(bytes)); // never throws: a bad record ends the datagram
        for (const f of [
          parseHandshakeFragments,
          parseClientHello,
          parseServerHello,
          parseHelloVerifyRequest,
          parseCertificateList,
          parseEcdheServerKeyExchange,
          (b: Buffer) => parseU16List(b, 'list'),
          (b: Buffer) => parseSigned(b, 'sig'),
        ])
          onlyDtlsErrors(f)(bytes);
      }),
      RUNS,
    );
  });

  it('the server never throws on arbitrary or mutated datagrams, and a session survives them', () => {
    const { server, session, clientSent, client, pump } = pair();
    const got: Buffer[] = [];
    session.onData = (d) => got.push(d);
    let ended = '';
    session.onClose = (e) => (ended = JSON.stringify(e));
    const samples = clientSent.map((d) => new Uint8Array(d));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc
            .tuple(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }))
            .map(([s, at, v]) => {
              const m = Uint8Array.from(s);
              m[at % m.length] = v;
              return m;
            }),
        ),
        fc.boolean(),
        (bytes, samePeer) => {
          server.receive(Buffer.from(bytes), samePeer ? '10.0.0.1' : '10.0.0.2', samePeer ? 5000 : 6000);
          pump();
        },
      ),
      RUNS,
    );
    assert.equal(ended, '');
    client.send(Buffer.from('still here'));
    pump();
    assert.equal(got.at(-1)?.toString(), 'still here');
  });
});
