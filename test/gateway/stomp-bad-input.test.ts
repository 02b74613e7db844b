/**
 * Bad input on the STOMP gateway: frame limits, malformed frames, unknown commands, garbage and floods.
 * Each has its defined outcome (ERROR then close, or a silent close before login), is counted, and leaves
 * the node and other clients working.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sleep, startStompBroker, until } from './helpers.js';
import { StompRaw } from './stomp-client.js';

describe('stomp: bad input', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  let bystander: StompRaw;
  const metric = (n: string) => b.node.gateways.get('stomp')!.metrics.snapshot()[n] ?? 0;

  before(async () => {
    b = await startStompBroker({
      stomp: { frame: { max_headers: 10, max_headers_length: 100, max_body_length: 1024 } },
    });
    ({ c: bystander } = await StompRaw.login(b.stompPort));
    bystander.send('SUBSCRIBE', { id: 'b', destination: 'alive', receipt: 'r' });
    await bystander.next('RECEIPT');
  });
  after(() => b.stop());

  /** The bystander still gets messages: the node and other clients are unaffected. */
  async function stillAlive(): Promise<void> {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SEND', { destination: 'alive' }, 'ping');
    assert.equal((await bystander.next('MESSAGE')).body, 'ping');
    c.destroy();
  }

  it('a frame error in CONNECT (11 headers) closes without ERROR', async () => {
    const c = await StompRaw.open(b.stompPort);
    const h: Record<string, string> = { 'accept-version': '1.2' };
    for (let i = 0; i < 10; i++) h[`h${i}`] = 'v';
    c.send('CONNECT', h);
    await c.waitClosed();
    assert.equal(c.frames.length, 0);
  });

  for (const [what, reason, make] of [
    [
      'too many headers',
      'too_many_headers',
      () => Object.fromEntries([...Array(11).keys()].map((i) => [`h${i}`, 'v'])),
    ],
    ['a too long header', 'too_long_header', () => ({ destination: 'x', long: 'y'.repeat(100) })],
  ] as const) {
    it(`${what} after login ⇒ ERROR naming ${reason}, then close`, async () => {
      const before = metric('packets.too_large');
      const { c } = await StompRaw.login(b.stompPort);
      c.send('SEND', make() as Record<string, string>, 'x');
      const e = await c.next('ERROR');
      assert.match(e.body, new RegExp(reason));
      await c.waitClosed();
      assert.equal(metric('packets.too_large'), before + 1);
    });
  }

  it('a too long body (1026 bytes, with or without content-length) ⇒ ERROR too_long_body, close', async () => {
    for (const withLength of [false, true]) {
      const { c } = await StompRaw.login(b.stompPort);
      const body = 'z'.repeat(1026);
      c.write(`SEND\ndestination:x\n${withLength ? `content-length:${body.length}\n` : ''}\n${body}\0`);
      assert.match((await c.next('ERROR')).body, /too_long_body/);
      await c.waitClosed();
    }
    await stillAlive();
  });

  it('malformed frames (bad escape, CR without LF, missing NUL after content-length) ⇒ ERROR, close, counted', async () => {
    const before = metric('packets.malformed');
    for (const bad of [
      'SEND\ndestination:a\\tb\n\n\0',
      'SEND\rdestination:a\n\n\0',
      'SEND\ncontent-length:1\n\nxy\0',
    ]) {
      const { c } = await StompRaw.login(b.stompPort);
      c.write(bad);
      assert.match((await c.next('ERROR')).body, /Frame error/);
      await c.waitClosed();
    }
    assert.equal(metric('packets.malformed'), before + 3);
  });

  it('an unknown command ⇒ ERROR and close', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('PUBLISH', { destination: 'a' }, 'x');
    assert.match((await c.next('ERROR')).body, /Unknown command: PUBLISH/);
    await c.waitClosed();
  });

  it('SEND or SUBSCRIBE without a destination ⇒ ERROR and close', async () => {
    for (const cmd of ['SEND', 'SUBSCRIBE']) {
      const { c } = await StompRaw.login(b.stompPort);
      c.send(cmd, { id: '1' }, '');
      assert.equal((await c.next('ERROR')).body, 'Missing destination header');
      await c.waitClosed();
    }
  });

  it('binary garbage before CONNECT closes silently; HTTP and TLS hellos too', async () => {
    for (const junk of [
      Buffer.alloc(4096, 0xff),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from('160301020001', 'hex'),
    ]) {
      const c = await StompRaw.open(b.stompPort);
      c.write(junk);
      await c.waitClosed(5000).catch(async () => {
        // A short partial line is not yet an error: the login deadline closes it instead.
        c.destroy();
      });
      assert.equal(c.frames.length, 0);
    }
    await stillAlive();
  });

  it('a flood of connections sending garbage does not disturb logged-in clients', async () => {
    const sockets = await Promise.all(
      [...Array(40).keys()].map(
        () =>
          new Promise<import('node:net').Socket>((resolve, reject) => {
            const s = netConnect(b.stompPort, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
            s.once('error', reject);
          }),
      ),
    );
    for (const s of sockets) s.write(`NOPE\n${'x:y\n'.repeat(50)}`);
    await until(() => sockets.every((s) => s.destroyed || s.readableEnded), 10_000, 'flood closed');
    for (const s of sockets) s.destroy();
    await stillAlive();
  });

  it('a CONNECT flood: many logins and drops in a row leave no clients behind', async () => {
    for (let i = 0; i < 30; i++) {
      const c = await StompRaw.open(b.stompPort);
      c.send('CONNECT', { 'accept-version': '1.2', 'client-id': `flood-${i % 5}` });
      c.destroy();
    }
    await sleep(200);
    await until(
      () =>
        b.node.gateways
          .get('stomp')!
          .clients.records()
          .every((r) => !r.session.clientid.startsWith('flood-')),
      5000,
      'flood sessions gone',
    );
    await stillAlive();
  });
});
