/**
 * What a hostile or broken network does to the DTLS server: a flood of ClientHellos without cookies from
 * many ports (no state kept, no amplification), truncated datagrams, reordered and replayed records, and
 * fragments of handshake messages out of order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { HandshakeFlights } from '../../../src/transport/dtls/flight.js';
import { encodeClientHello } from '../../../src/transport/dtls/messages.js';
import { RecordLayer } from '../../../src/transport/dtls/record.js';
import { deriveKeys, SUITES } from '../../../src/transport/dtls/suites.js';
import {
  ContentType,
  DTLS_1_2,
  encodeHandshake,
  encodeHandshakeFragment,
  encodeRecord,
  HandshakeType,
  parseRecords,
} from '../../../src/transport/dtls/wire.js';
import { connectClient, type EchoServer, startEchoServer } from './helpers.js';

/** A minimal ClientHello datagram without a cookie (one suite), as a spoofing sender would make. */
function bareClientHello(): Buffer {
  const body = encodeClientHello({
    version: DTLS_1_2,
    random: randomBytes(32),
    sessionId: Buffer.alloc(0),
    cookie: Buffer.alloc(0),
    suites: [0xc0a8],
    compressions: Buffer.of(0),
    extensions: new Map(),
  });
  return encodeRecord(
    ContentType.handshake,
    DTLS_1_2,
    0,
    0,
    encodeHandshake(HandshakeType.clientHello, 0, body),
  );
}

describe('dtls: hostile input on the wire', () => {
  let srv: EchoServer;
  before(async () => {
    srv = await startEchoServer();
  });
  after(() => srv.stop());

  it('a ClientHello flood without cookies from many ports keeps no state and is never amplified', async () => {
    const socks = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    const sent: number[] = [];
    const answers: number[] = [];
    for (const s of socks) s.on('message', (m) => answers.push(m.length));
    const before = srv.server.helloVerifyRequests;
    try {
      // Rounds of one datagram per port, each waited for: a loopback burst beyond the socket buffer would be
      // dropped by the kernel, which is not what this test measures.
      for (let round = 0; round < 50; round++) {
        for (const s of socks) {
          const hello = bareClientHello();
          sent.push(hello.length);
          s.send(hello, srv.port, '127.0.0.1');
        }
        const deadline = Date.now() + 5000;
        while (answers.length < sent.length && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(srv.server.helloVerifyRequests - before, sent.length);
      assert.equal(answers.length, sent.length);
      assert.equal(srv.server.size, 0, 'no association is kept for an unverified peer');
      assert.ok(
        Math.max(...answers) <= Math.min(...sent),
        `HelloVerifyRequest ${Math.max(...answers)} > ClientHello ${Math.min(...sent)}`,
      );
    } finally {
      for (const s of socks) s.close();
    }
  });

  it('truncated and garbage datagrams are dropped; the session goes on', async () => {
    const c = await connectClient(srv.port);
    const good = await c.ask('one');
    assert.equal(good, 'echo:one');
    c.sendRaw(Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0x40, 0x00])); // claims 16 KB, has none
    c.sendRaw(Buffer.from([23, 0xfe, 0xfd, 0, 1]));
    c.sendRaw(randomBytes(200));
    assert.equal(await c.ask('two'), 'echo:two');
    c.close();
  });

  it('reordered records of an epoch are accepted once each; a replay is dropped', () => {
    const suite = SUITES.find((s) => s.openssl === 'PSK-AES128-CCM8')!;
    const keys = deriveKeys(suite, randomBytes(48), randomBytes(32), randomBytes(32));
    const sender = new RecordLayer();
    sender.setPending(keys.server, keys.client);
    sender.switchWrite();
    const receiver = new RecordLayer();
    receiver.setPending(keys.client, keys.server);
    receiver.switchRead();
    const recs = [1, 2, 3].map(
      (n) => parseRecords(sender.protect(ContentType.applicationData, Buffer.of(n)))[0]!,
    );
    const order = [2, 0, 1].map((i) => receiver.open(recs[i]!)?.[0]);
    assert.deepEqual(order, [3, 1, 2]);
    assert.equal(receiver.open(recs[0]!), undefined, 'replayed record');
    const forged = { ...recs[1]!, seq: 99, fragment: Buffer.from(recs[1]!.fragment) };
    assert.equal(receiver.open(forged), undefined, 'a record that does not authenticate');
  });

  it('fragments of handshake messages arriving out of order are reassembled in message order', () => {
    const flights = new HandshakeFlights(new RecordLayer(), {
      mtu: 1400,
      transmit: () => {},
      onTimeout: () => {},
    });
    const first = randomBytes(300);
    const second = randomBytes(10);
    const frag = (type: number, seq: number, body: Buffer, from: number, to: number) => ({
      msgType: type,
      length: body.length,
      messageSeq: seq,
      fragmentOffset: from,
      body: body.subarray(from, to),
    });
    assert.deepEqual(flights.receive(frag(16, 1, second, 0, 10)).messages, []);
    assert.deepEqual(flights.receive(frag(11, 0, first, 200, 300)).messages, []);
    assert.deepEqual(flights.receive(frag(11, 0, first, 0, 150)).messages, []);
    const done = flights.receive(frag(11, 0, first, 100, 250)).messages;
    assert.deepEqual(
      done.map((m) => [m.msgType, m.body]),
      [
        [11, first],
        [16, second],
      ],
    );
    assert.equal(flights.receive(frag(11, 0, first, 0, 10)).retransmitted, true);
    // An encoded fragment round-trips through the header codec.
    assert.equal(encodeHandshakeFragment(11, 300, 0, 0, first.subarray(0, 10)).length, 22);
  });
});
