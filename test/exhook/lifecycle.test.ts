/**
 * Loading and unloading: only the hooks a server returns are registered, an unknown hook name fails the
 * whole load with a clear error, OnProviderUnloaded is sent on disable, delete and broker stop, and the
 * status follows (connected, connecting, disconnected, disabled).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { logger, setLogger } from '../../src/log.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { eventually, TestProvider } from './provider.js';

describe('exhook: load and unload', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  async function broker(servers: unknown[]): Promise<TestBroker> {
    const b = await startBroker({ config: { exhook: { servers } } });
    cleanup.push(() => b.stop());
    return b;
  }

  it('registers exactly the hooks the server returned', async () => {
    const p = await TestProvider.start({ hooks: [{ name: 'client.connected' }] });
    cleanup.push(() => p.stop());
    const b = await broker([{ name: 'one', url: p.url }]);
    const c = await connectClient(b.port, { clientId: 'only-connected' });
    await p.waitFor('OnClientConnected');
    await end(c);
    assert.deepEqual(
      p.calls.map((x) => x.rpc),
      ['OnProviderLoaded', 'OnClientConnected'],
    );
    assert.deepEqual(b.node.exhook.server('one')!.hookSpecs(), [{ name: 'client.connected', topics: [] }]);
  });

  it('fails the load on an unknown hook name and says which', async () => {
    const lines: string[] = [];
    const previous = logger;
    setLogger(
      pino(
        { level: 'warn' },
        new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        }),
      ),
    );
    try {
      const p = await TestProvider.start({
        hooks: [{ name: 'client.connected' }, { name: 'client.check_acl' }],
      });
      cleanup.push(() => p.stop());
      const b = await broker([{ name: 'old', url: p.url, auto_reconnect: false }]);
      const s = b.node.exhook.server('old')!;
      assert.equal(s.status, 'disconnected');
      assert.match(s.lastError ?? '', /unknown_hookpoint.*"client\.check_acl"/);
      assert.ok(lines.some((l) => l.includes('load failed') && l.includes('client.check_acl')));
      // Nothing of it was registered.
      const c = await connectClient(b.port);
      await end(c);
      assert.deepEqual(
        p.calls.map((x) => x.rpc),
        ['OnProviderLoaded'],
      );
    } finally {
      setLogger(previous);
    }
  });

  it('retries a failed load every auto_reconnect while the status is connecting', async () => {
    const p = await TestProvider.start({ hooks: [{ name: 'session.created_typo' }] });
    cleanup.push(() => p.stop());
    const b = await broker([{ name: 'retry', url: p.url, auto_reconnect: '300ms' }]);
    const s = b.node.exhook.server('retry')!;
    assert.equal(s.status, 'connecting');
    await eventually(() => p.of('OnProviderLoaded').length >= 2, 10_000, 'a retry');
    p.hooks = [{ name: 'session.created' }];
    await eventually(() => s.status === 'connected', 10_000, 'a successful retry');
    const c = await connectClient(b.port);
    await p.waitFor('OnSessionCreated');
    await end(c);
  });

  it('unloads on disable and on delete, and on broker stop', async () => {
    const p1 = await TestProvider.start({ hooks: [{ name: 'client.connected' }] });
    const p2 = await TestProvider.start({ hooks: [{ name: 'client.connected' }] });
    cleanup.push(
      () => p1.stop(),
      () => p2.stop(),
    );
    const b = await startBroker({
      config: {
        exhook: {
          servers: [
            { name: 'a', url: p1.url },
            { name: 'b', url: p2.url },
          ],
        },
      },
    });
    const cfg = () =>
      (b.node.configService.getRaw('exhook') as { servers: Array<Record<string, unknown>> }).servers;
    await b.node.configService.update('exhook', { servers: [{ ...cfg()[0], enable: false }, cfg()[1]] });
    assert.equal(b.node.exhook.server('a')!.status, 'disabled');
    assert.equal(p1.of('OnProviderUnloaded').length, 1);
    const meta = p1.of('OnProviderUnloaded')[0]!.meta!;
    assert.equal(meta.node, 'hermod@127.0.0.1');
    const c = await connectClient(b.port);
    await p2.waitFor('OnClientConnected');
    await end(c);
    assert.equal(p1.of('OnClientConnected').length, 0);

    await b.node.configService.update('exhook', { servers: [cfg()[0]] });
    assert.equal(b.node.exhook.server('b'), undefined);
    assert.equal(p2.of('OnProviderUnloaded').length, 1);

    // Enabled again: loaded again.
    await b.node.configService.update('exhook', { servers: [{ ...cfg()[0], enable: true }] });
    assert.equal(b.node.exhook.server('a')!.status, 'connected');
    assert.equal(p1.of('OnProviderLoaded').length, 2);
    await b.stop();
    assert.equal(p1.of('OnProviderUnloaded').length, 2);
  });

  it('refuses a config with two servers of the same name', async () => {
    const b = await broker([]);
    await assert.rejects(
      b.node.configService.update('exhook', {
        servers: [
          { name: 'x', url: 'http://127.0.0.1:1' },
          { name: 'x', url: 'http://127.0.0.1:2' },
        ],
      }),
      /duplicate exhook server name: x/,
    );
    assert.equal(b.node.exhook.servers().length, 0);
  });
});
