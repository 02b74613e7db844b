/**
 * STOMP strictness and ordering: the ERROR for an unsupported version names the supported ones, a 1.2
 * SUBSCRIBE needs an id, headers must be UTF-8, and a SEND's RECEIPT leaves before the MESSAGE the same
 * SEND delivers back to its sender.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStompBroker, until } from './helpers.js';
import { StompRaw } from './stomp-client.js';

describe('stomp: strictness', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;

  before(async () => {
    b = await startStompBroker();
  });
  after(() => b.stop());

  it('an unsupported accept-version ⇒ ERROR with a version header listing 1.0,1.1,1.2', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '2.0,2.1' });
    const f = await c.next('ERROR');
    assert.equal(f.headers.version, '1.0,1.1,1.2');
    await c.waitClosed();
  });

  it('STOMP 1.2 SUBSCRIBE without id ⇒ ERROR and close', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { destination: 'no/id', receipt: 'r1' });
    const e = await c.next('ERROR');
    assert.match(e.body, /Missing id header/);
    assert.equal(e.headers['receipt-id'], 'r1');
    await c.waitClosed();
  });

  it('STOMP 1.0 SUBSCRIBE without id is still taken (the destination names it)', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', {});
    assert.equal((await c.next()).command, 'CONNECTED');
    c.send('SUBSCRIBE', { destination: 'v10/t', receipt: 'r' });
    assert.equal((await c.next()).command, 'RECEIPT');
    c.send('SEND', { destination: 'v10/t' }, 'hello');
    const m = await c.next('MESSAGE');
    assert.equal(m.headers.subscription, 'v10/t');
    c.destroy();
  });

  it('a header that is not UTF-8 ⇒ ERROR and close, nothing published', async () => {
    const { c: watcher } = await StompRaw.login(b.stompPort);
    watcher.send('SUBSCRIBE', { id: 'w', destination: '#', receipt: 'r' });
    await watcher.next('RECEIPT');
    const { c } = await StompRaw.login(b.stompPort);
    c.write(
      Buffer.concat([
        Buffer.from('SEND\ndestination:bad/'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('\n\nx\0'),
      ]),
    );
    const e = await c.next('ERROR');
    assert.match(e.body, /not UTF-8/);
    await c.waitClosed();
    assert.ok(await watcher.quiet(200));
    watcher.destroy();
  });

  it('SEND with a receipt to a topic the sender subscribes to: RECEIPT comes before MESSAGE', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: 's', destination: 'echo/t', receipt: 'sub' });
    assert.equal((await c.next()).command, 'RECEIPT');
    c.send('SEND', { destination: 'echo/t', receipt: 'pub' }, 'payload');
    await until(() => c.frames.length >= 2, 5000, 'RECEIPT and MESSAGE');
    assert.deepEqual(
      c.frames.map((f) => f.command),
      ['RECEIPT', 'MESSAGE'],
    );
    c.destroy();
  });
});
