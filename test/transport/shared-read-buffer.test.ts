import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { adoptWithSharedBuffer, copyRead, readView } from '../../src/transport/shared-read-buffer.js';
import { waitFor } from './helpers.js';

/** A loopback server and its first accepted socket. */
async function acceptOne(): Promise<{ port: number; accepted: Promise<net.Socket>; close(): void }> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, accepted, close: () => server.close() };
}

describe('shared read buffer', () => {
  it('delivers what the accepted socket already read first, then later reads, in order', async () => {
    const srv = await acceptOne();
    const client = net.connect(srv.port, '127.0.0.1');
    const raw = await srv.accepted;
    client.write('early');
    await waitFor(() => raw.readableLength === 5, 5000, 'bytes buffered on the accepted socket');
    const got: string[] = [];
    const adopted = adoptWithSharedBuffer(raw, (n, buf) => {
      got.push(buf.toString('latin1', 0, n));
    });
    assert.ok(adopted, 'this Node exposes what the adoption needs');
    assert.deepEqual(
      adopted.early.map((b) => b.toString()),
      ['early'],
    );
    adopted.sock.resume();
    client.write('late');
    await waitFor(() => got.join('') === 'late', 5000, 'the later read');
    client.destroy();
    adopted.sock.destroy();
    srv.close();
  });

  it('leaves a socket that is already destroyed alone', async () => {
    const srv = await acceptOne();
    const client = net.connect(srv.port, '127.0.0.1');
    const raw = await srv.accepted;
    raw.destroy();
    assert.equal(
      adoptWithSharedBuffer(raw, () => {}),
      undefined,
    );
    client.destroy();
    srv.close();
  });

  it('copies every read out whole, small and large, so later reads into the shared buffer do not change it', async () => {
    const srv = await acceptOne();
    const client = net.connect(srv.port, '127.0.0.1');
    const raw = await srv.accepted;
    const copies: Buffer[] = [];
    const adopted = adoptWithSharedBuffer(raw, (n, buf) => {
      copies.push(copyRead(buf, n));
    });
    assert.ok(adopted);
    adopted.sock.resume();
    // One write per round trip, so each arrives as its own read: sizes around the small-read cut-off.
    const sizes = [1, 2, 4, 2, 255, 256, 257, 4, 1000, 1023, 1024, 1025, 3000, 2];
    const sent: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      const b = Buffer.alloc(size, 0x41 + i);
      b[0] = i;
      sent.push(b);
      client.write(b);
      await waitFor(() => Buffer.concat(copies).length === Buffer.concat(sent).length, 5000, `read ${i}`);
    }
    assert.deepEqual(Buffer.concat(copies), Buffer.concat(sent));
    client.destroy();
    adopted.sock.destroy();
    srv.close();
  });

  it('lends each read as a view of exactly its bytes, small (cached views) and large', async () => {
    const srv = await acceptOne();
    const client = net.connect(srv.port, '127.0.0.1');
    const raw = await srv.accepted;
    const seen: Buffer[] = [];
    const adopted = adoptWithSharedBuffer(raw, (n, buf) => {
      const view = readView(buf, n);
      assert.equal(view.length, n);
      // Copied here, inside the callback: the view itself is only valid until it returns.
      seen.push(Buffer.from(view));
    });
    assert.ok(adopted);
    adopted.sock.resume();
    const sizes = [4, 2, 1024, 2, 1025, 4, 3000, 4];
    const sent: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      const b = Buffer.alloc(size, 0x61 + i);
      sent.push(b);
      client.write(b);
      await waitFor(() => Buffer.concat(seen).length === Buffer.concat(sent).length, 5000, `read ${i}`);
    }
    assert.deepEqual(Buffer.concat(seen), Buffer.concat(sent));
    client.destroy();
    adopted.sock.destroy();
    srv.close();
  });
});
