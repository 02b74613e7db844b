import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { parseProxyHeader } from '../../src/transport/proxy-protocol.js';
import { DEFAULT_WEBSOCKET_OPTIONS } from '../../src/transport/ws.js';
import {
  closedSocket,
  connectTcp,
  fixture,
  type Harness,
  listenerOptions,
  Recorder,
  readFixture,
  startHarness,
} from './helpers.js';

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIG, head, body]);
}

function v2Inet(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const body = Buffer.alloc(12);
  Buffer.from(src).copy(body, 0);
  Buffer.from(dst).copy(body, 4);
  body.writeUInt16BE(sport, 8);
  body.writeUInt16BE(dport, 10);
  return v2(1, 0x11, body);
}

describe('PROXY protocol parser', () => {
  it('parses v1 TCP4, TCP6 and UNKNOWN', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 5000 1883\r\nMQTT');
    assert.deepEqual(parseProxyHeader(line), {
      status: 'done',
      length: line.length - 4,
      address: { srcHost: '192.0.2.1', srcPort: 5000, dstHost: '198.51.100.2', dstPort: 1883 },
    });
    const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'));
    assert.equal(six.status === 'done' && six.address?.srcHost, '2001:db8::1');
    const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
    assert.deepEqual(unknown, { status: 'done', length: 15, address: undefined });
  });

  it('waits for more bytes, and rejects garbage', () => {
    assert.equal(parseProxyHeader(Buffer.from('PRO')).status, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')).status, 'incomplete');
    assert.equal(parseProxyHeader(V2_SIG.subarray(0, 5)).status, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from([0x10, 0x0c, 0x00, 0x04])).status, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')).status, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 ::1 5.6.7.8 1 1\r\n')).status, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`)).status, 'invalid');
  });

  it('parses v2 inet, inet6 and LOCAL', () => {
    const four = v2Inet([10, 1, 2, 3], [10, 0, 0, 1], 40000, 1883);
    assert.deepEqual(parseProxyHeader(Buffer.concat([four, Buffer.from([0xc0, 0x00])])), {
      status: 'done',
      length: 28,
      address: { srcHost: '10.1.2.3', srcPort: 40000, dstHost: '10.0.0.1', dstPort: 1883 },
    });
    const body6 = Buffer.alloc(36);
    body6.writeUInt16BE(0x2001, 0);
    body6.writeUInt16BE(0x0db8, 2);
    body6[15] = 1;
    body6[26] = 0xff;
    body6[27] = 0xff;
    Buffer.from([192, 0, 2, 9]).copy(body6, 28);
    body6.writeUInt16BE(1234, 32);
    body6.writeUInt16BE(8883, 34);
    const six = parseProxyHeader(v2(1, 0x21, body6));
    assert.deepEqual(six.status === 'done' && six.address, {
      srcHost: '2001:db8::1',
      dstHost: '192.0.2.9',
      srcPort: 1234,
      dstPort: 8883,
    });
    const local = parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)));
    assert.deepEqual(local, { status: 'done', length: 16, address: undefined });
    assert.equal(parseProxyHeader(four.subarray(0, 20)).status, 'incomplete');
  });
});

describe('PROXY protocol on listeners', () => {
  const harnesses: Harness[] = [];
  const start = async (...args: Parameters<typeof listenerOptions>): Promise<Harness> => {
    const h = await startHarness(listenerOptions(...args));
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  it('v1 header sets the peer and the rest of the bytes pass through', async () => {
    const h = await start('tcp', { proxyProtocol: true });
    const client = await connectTcp(h.port);
    client.write('PROXY TCP4 192.0.2.1 198.51.100.2 5000 1883\r\nhel');
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    client.write('lo');
    assert.equal((await rec.waitBytes(5)).toString(), 'hello');
    assert.equal(conn.peerhost, '192.0.2.1');
    assert.equal(conn.peerport, 5000);
    assert.equal(conn.sockport, 1883);
    client.destroy();
  });

  it('v2 header, sent a few bytes at a time, sets the peer', async () => {
    const h = await start('tcp', { proxyProtocol: true });
    const client = await connectTcp(h.port);
    const header = v2Inet([10, 1, 2, 3], [10, 0, 0, 1], 40000, 1883);
    client.write(header.subarray(0, 7));
    await new Promise((r) => setTimeout(r, 20));
    client.write(Buffer.concat([header.subarray(7), Buffer.from('x')]));
    const conn = await h.connection();
    const rec = new Recorder();
    conn.setHandler(rec);
    assert.equal((await rec.waitBytes(1)).toString(), 'x');
    assert.equal(conn.peerhost, '10.1.2.3');
    assert.equal(conn.peerport, 40000);
    client.destroy();
  });

  it('refuses garbage and a silent client', async () => {
    const h = await start('tcp', { proxyProtocol: true, proxyProtocolTimeoutMs: 150 });
    const garbage = await connectTcp(h.port);
    garbage.write('\x10\x0c\x00\x04MQTT');
    await closedSocket(garbage);
    await h.refused(1);
    const silent = await connectTcp(h.port);
    await closedSocket(silent);
    await h.refused(2);
    assert.deepEqual(
      h.refusals.map((r) => r.reason),
      ['proxy_protocol', 'proxy_protocol'],
    );
    assert.equal(h.connections.length, 0);
  });

  it('works in front of TLS', async () => {
    const h = await start('ssl', {
      proxyProtocol: true,
      tls: {
        certfile: fixture('certs', 'server.pem'),
        keyfile: fixture('certs', 'server.key'),
        verify: 'verify_none',
        failIfNoPeerCert: false,
      },
    });
    const raw = await connectTcp(h.port);
    // Corked so the header and the ClientHello reach the listener in one segment.
    raw.cork();
    raw.write('PROXY TCP4 192.0.2.44 198.51.100.2 6000 8883\r\n');
    const client = tls.connect({ socket: raw, ca: readFixture('certs', 'ca.pem'), servername: 'localhost' });
    setTimeout(() => raw.uncork(), 30);
    const conn = await h.connection();
    assert.equal(conn.peerhost, '192.0.2.44');
    assert.equal(conn.transport, 'ssl');
    conn.setHandler(new Recorder(conn));
    client.write('through');
    const echoed = await new Promise<string>((resolve) =>
      client.once('data', (d: Buffer) => resolve(d.toString())),
    );
    assert.equal(echoed, 'through');
    client.destroy();
  });

  it('works in front of WebSocket', async () => {
    const h = await start('ws', { proxyProtocol: true, ws: DEFAULT_WEBSOCKET_OPTIONS });
    const client = new WebSocket(`ws://127.0.0.1:${h.port}/mqtt`, ['mqtt'], {
      createConnection: () => {
        const raw = net.connect(h.port, '127.0.0.1');
        // Corked so the header and the upgrade request travel together.
        raw.cork();
        raw.write(v2Inet([172, 16, 0, 9], [10, 0, 0, 1], 7000, 8083));
        setTimeout(() => raw.uncork(), 30);
        return raw;
      },
    });
    client.on('error', () => {});
    const conn = await h.connection();
    assert.equal(conn.peerhost, '172.16.0.9');
    assert.equal(conn.peerport, 7000);
    assert.equal(conn.sockport, 8083);
    client.terminate();
  });
});
