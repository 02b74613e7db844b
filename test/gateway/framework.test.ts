/**
 * The gateway framework seen through the STOMP gateway: idle timeout, listener limits and access rules,
 * the per-gateway client namespace (duplicate ids, kick), clientinfo_override and mountpoint templates,
 * authentication and authorization through hooks, auth expiry, hooks and $SYS events, and runtime
 * enable/disable and listener updates.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HookPriority, STOP } from '../../src/broker/hooks.js';
import type { AuthnResult, Credential } from '../../src/broker/types.js';
import { collect, connectClient } from '../helpers/clients.js';
import { gatewayPort, sleep, startStompBroker, until } from './helpers.js';
import { StompRaw } from './stomp-client.js';

type B = Awaited<ReturnType<typeof startStompBroker>>;

describe('gateway framework: connections and listeners', () => {
  let b: B;
  before(async () => {
    b = await startStompBroker({
      stomp: {
        idle_timeout: '400ms',
        listeners: {
          tcp: {
            limited: { bind: '127.0.0.1:0', max_connections: 2 },
            denied: { bind: '127.0.0.1:0', access_rules: ['deny 127.0.0.1', 'allow all'] },
          },
        },
      },
    });
  });
  after(() => b.stop());

  it('idle_timeout closes a connection that never logs in, and counts it', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.write('\n\n');
    await c.waitClosed(5000);
    assert.ok((b.node.gateways.get('stomp')!.metrics.snapshot()['client.idle_timeout'] ?? 0) >= 1);
  });

  it('a logged-in client is not closed by idle_timeout', async () => {
    const { c } = await StompRaw.login(b.stompPort);
    await sleep(900);
    assert.equal(c.closed, false);
    c.destroy();
  });

  it('max_connections refuses the connection beyond the limit', async () => {
    const port = gatewayPort(b.node, 'stomp:tcp:limited');
    const a = await StompRaw.login(port);
    const c = await StompRaw.login(port);
    const third = await StompRaw.open(port);
    await third.waitClosed();
    assert.equal(b.node.gateways.get('stomp')!.metrics.get('client.max_connections_exceeded'), 1);
    a.c.destroy();
    c.c.destroy();
  });

  it('access_rules: a denied peer is closed at once', async () => {
    const c = await StompRaw.open(gatewayPort(b.node, 'stomp:tcp:denied'));
    await c.waitClosed();
    assert.equal(b.node.gateways.get('stomp')!.metrics.get('client.access_denied'), 1);
  });
});

describe('gateway framework: identity, namespace and kicks', () => {
  let b: B;
  before(async () => {
    b = await startStompBroker({
      stomp: {
        mountpoint: 'gw/${clientid}/',
        clientinfo_override: { clientid: '${Packet.headers.login}-${Packet.headers.device}' },
      },
    });
  });
  after(() => b.stop());

  it('clientinfo_override renders from the CONNECT headers; the mountpoint from the client id', async () => {
    const { c } = await StompRaw.login(b.stompPort, { login: 'alice', passcode: 'x', device: 'd1' });
    const r = b.node.gateways.get('stomp')!.clients.get('alice-d1');
    assert.ok(r !== undefined);
    const ci = r.channel!.clientInfo;
    assert.equal(ci.username, 'alice');
    assert.equal(ci.protocol, 'stomp');
    assert.equal(ci.listener, 'stomp:tcp:default');
    assert.equal(ci.mountpoint, 'gw/alice-d1/');
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('gw/#');
    c.send('SEND', { destination: 'up' }, 'x');
    assert.equal((await got.next(1))[0]!.topic, 'gw/alice-d1/up');
    await m.endAsync();
    c.destroy();
  });

  it('the same client id lives once in MQTT and once in the gateway', async () => {
    const m = await connectClient(b.port, { clientId: 'bob-d' });
    const { c } = await StompRaw.login(b.stompPort, { login: 'bob', device: 'd' });
    await sleep(100);
    assert.equal(m.connected, true);
    assert.equal(c.closed, false);
    await m.endAsync();
    c.destroy();
  });

  it('a second login with the same id discards the first (ERROR "Discarded")', async () => {
    const { c: first } = await StompRaw.login(b.stompPort, { login: 'dup', device: 'x' });
    const { c: second } = await StompRaw.login(b.stompPort, { login: 'dup', device: 'x' });
    const e = await first.next('ERROR');
    assert.equal(e.body, 'Discarded');
    await first.waitClosed();
    second.send('DISCONNECT', { receipt: 'ok' });
    await second.next('RECEIPT');
  });

  it('a kick sends ERROR "Kicked out" and closes', async () => {
    const { c } = await StompRaw.login(b.stompPort, { login: 'kick', device: 'me' });
    assert.equal(b.node.gateways.get('stomp')!.clients.kick('kick-me'), true);
    assert.equal((await c.next('ERROR')).body, 'Kicked out');
    await c.waitClosed();
    assert.equal(b.node.gateways.get('stomp')!.clients.get('kick-me'), undefined);
  });
});

describe('gateway framework: authentication, authorization, hooks', () => {
  let b: B;
  const offs: Array<() => void> = [];
  before(async () => {
    b = await startStompBroker({
      stomp: { listeners: { tcp: { open: { bind: '127.0.0.1:0', enable_authn: false } } } },
    });
  });
  afterEach(() => {
    for (const off of offs.splice(0)) off();
  });
  after(() => b.stop());

  const authn = (f: (c: Credential) => AuthnResult | undefined) =>
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        (c) => {
          const r = f(c);
          return r === undefined ? undefined : { stop: r };
        },
        HookPriority.AUTHN + 1,
      ),
    );

  it('authentication failure ⇒ ERROR "Login Failed: not_authorized" and close; credentials reach the hook', async () => {
    const seen: Credential[] = [];
    authn((c) => {
      seen.push(c);
      return c.password?.toString() === 'good' ? { kind: 'ok' } : { kind: 'error', reason: 'not_authorized' };
    });
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', login: 'u', passcode: 'bad' });
    const e = await c.next('ERROR');
    assert.equal(e.body, 'Login Failed: not_authorized');
    await c.waitClosed();
    const ok = await StompRaw.login(b.stompPort, { login: 'u', passcode: 'good' });
    ok.c.destroy();
    assert.equal(seen[0]!.username, 'u');
    assert.equal(seen[0]!.protocol, 'stomp');
    assert.equal(seen[0]!.listener, 'stomp:tcp:default');
    // enable_authn = false: the listener lets everyone in without asking.
    const open = await StompRaw.login(gatewayPort(b.node, 'stomp:tcp:open'), { login: 'u', passcode: 'bad' });
    open.c.destroy();
  });

  it('is_superuser and expire_at from the authenticator: the client is closed with reason expired', async () => {
    authn(() => ({ kind: 'ok', is_superuser: true, expire_at: Math.floor(Date.now() / 1000) + 1 }));
    const reasons: string[] = [];
    offs.push(
      b.node.hooks.add('client.disconnected', (ci, reason) => {
        if (ci.clientid === 'expiring') reasons.push(reason);
      }),
    );
    const { c } = await StompRaw.login(b.stompPort, { 'client-id': 'expiring' });
    assert.equal(
      b.node.gateways.get('stomp')!.clients.get('expiring')?.channel?.clientInfo.is_superuser,
      true,
    );
    await c.waitClosed(5000);
    assert.deepEqual(reasons, ['expired']);
  });

  it('authorization: a denied SEND or SUBSCRIBE ⇒ ERROR "Insufficient permissions for <t>" and close', async () => {
    offs.push(
      b.node.hooks.add('client.authorize', (ci, _action, topic) =>
        ci.protocol === 'stomp' && topic.startsWith('secret/')
          ? { stop: { result: 'deny', from: 'test' } }
          : undefined,
      ),
    );
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SEND', { destination: 'secret/x' }, 'x');
    assert.equal((await c.next('ERROR')).body, 'Insufficient permissions for secret/x');
    await c.waitClosed();
    const { c: d } = await StompRaw.login(b.stompPort);
    d.send('SUBSCRIBE', { id: '1', destination: 'secret/#' });
    assert.equal((await d.next('ERROR')).body, 'Insufficient permissions for secret/#');
    await d.waitClosed();
    const { c: e } = await StompRaw.login(b.stompPort);
    e.send('SUBSCRIBE', { id: '1', destination: 'public/#', receipt: 'ok' });
    assert.equal((await e.next('RECEIPT')).headers['receipt-id'], 'ok');
    e.destroy();
  });

  it('hooks: client.connect runs first; connected, subscribed, delivered, unsubscribed, disconnected follow', async () => {
    const events: string[] = [];
    const ID = 'hooked';
    const on =
      (name: string) =>
      (ci: { clientid: string }): undefined => {
        if (ci.clientid === ID) events.push(name);
      };
    offs.push(
      b.node.hooks.add('client.connect', (conn) => {
        if (conn.clientid === ID) events.push('client.connect');
      }),
    );
    offs.push(b.node.hooks.add('client.connected', on('client.connected')));
    offs.push(b.node.hooks.add('session.created', on('session.created')));
    offs.push(b.node.hooks.add('session.subscribed', on('session.subscribed')));
    offs.push(b.node.hooks.add('session.unsubscribed', on('session.unsubscribed')));
    offs.push(b.node.hooks.add('message.delivered', on('message.delivered')));
    offs.push(b.node.hooks.add('client.disconnected', on('client.disconnected')));
    const { c } = await StompRaw.login(b.stompPort, { 'client-id': ID });
    c.send('SUBSCRIBE', { id: '1', destination: 'h/t' });
    c.send('SEND', { destination: 'h/t' }, 'x');
    await c.next('MESSAGE');
    c.send('UNSUBSCRIBE', { id: '1' });
    c.send('DISCONNECT', { receipt: 'r' });
    await c.next('RECEIPT');
    await until(() => events.includes('client.disconnected'));
    assert.deepEqual(events, [
      'client.connect',
      'session.created',
      'client.connected',
      'session.subscribed',
      'message.delivered',
      'session.unsubscribed',
      'client.disconnected',
    ]);
  });

  it('a client.subscribe fold that drops the topic refuses the SUBSCRIBE', async () => {
    offs.push(
      b.node.hooks.add('client.subscribe', (_ci, _props, acc) => ({
        ok: acc.filter((e) => e.topic !== 'no/way'),
      })),
    );
    const { c } = await StompRaw.login(b.stompPort);
    c.send('SUBSCRIBE', { id: '1', destination: 'no/way' });
    assert.match((await c.next('ERROR')).body, /no\/way/);
    await c.waitClosed();
  });

  it('$SYS gateway client events: connected and disconnected under gateway/stomp/clients', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('$SYS/brokers/+/gateway/stomp/clients/#');
    const { c } = await StompRaw.login(b.stompPort, { 'client-id': 'sys-me', login: 'sysu' });
    c.send('DISCONNECT');
    const [conn, disc] = await got.next(2);
    assert.match(
      conn!.topic,
      /^\$SYS\/brokers\/hermod@127\.0\.0\.1\/gateway\/stomp\/clients\/sys-me\/connected$/,
    );
    const j = JSON.parse(conn!.payload.toString());
    assert.equal(j.proto_name, 'STOMP');
    assert.equal(j.proto_ver, '1.2');
    assert.equal(j.username, 'sysu');
    assert.match(disc!.topic, /\/sys-me\/disconnected$/);
    assert.equal(JSON.parse(disc!.payload.toString()).reason, 'normal');
    await m.endAsync();
  });

  it('an async authenticator: frames sent right after CONNECT wait for the answer, in order', async () => {
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        async () => {
          await sleep(150);
          return { stop: { kind: 'ok' } as AuthnResult };
        },
        HookPriority.AUTHN + 2,
      ),
    );
    const c = await StompRaw.open(b.stompPort);
    c.write(
      'CONNECT\naccept-version:1.2\n\n\0SUBSCRIBE\nid:1\ndestination:async/t\n\n\0SEND\ndestination:async/t\n\nfirst\0',
    );
    assert.equal((await c.next()).command, 'CONNECTED');
    assert.equal((await c.next('MESSAGE')).body, 'first');
    c.destroy();
  });

  it('a client that leaves while its authentication is pending leaves no session behind', async () => {
    offs.push(
      b.node.hooks.add(
        'client.authenticate',
        async () => {
          await sleep(300);
          return { stop: { kind: 'ok' } as AuthnResult };
        },
        HookPriority.AUTHN + 2,
      ),
    );
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', 'client-id': 'gone-early' });
    await sleep(50);
    c.destroy();
    await sleep(600);
    assert.equal(b.node.gateways.get('stomp')!.clients.get('gone-early'), undefined);
  });

  it('a hook that stops client.connect refuses the login', async () => {
    offs.push(b.node.hooks.add('client.connect', () => ({ stop: { error: 0x87 } })));
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2' });
    assert.match((await c.next('ERROR')).body, /Login Failed/);
    await c.waitClosed();
    void STOP;
  });
});

describe('gateway framework: runtime changes', () => {
  let b: B;
  before(async () => {
    b = await startStompBroker();
  });
  after(() => b.stop());

  it('disable closes every connection and the listener, keeps the config; enable brings it back', async () => {
    const reg = b.node.gateways;
    const { c } = await StompRaw.login(b.stompPort);
    await reg.setEnable('stomp', false);
    await c.waitClosed();
    const g = reg.get('stomp')!;
    assert.equal(g.status, 'stopped');
    assert.ok(g.stoppedAt !== undefined);
    assert.equal(reg.rawConfig('stomp')?.enable, false);
    await assert.rejects(StompRaw.open(b.stompPort));
    await reg.setEnable('stomp', true);
    assert.equal(g.status, 'running');
    const again = await StompRaw.login(gatewayPort(b.node));
    again.c.destroy();
  });

  it('a listener mountpoint change applies to new clients without a restart; a bind change restarts it', async () => {
    const reg = b.node.gateways;
    const port = gatewayPort(b.node);
    const { c: old } = await StompRaw.login(port);
    await reg.putListener('stomp', 'tcp', 'default', { bind: `127.0.0.1:${port}`, mountpoint: 'new/' });
    assert.equal(old.closed, false);
    const { c } = await StompRaw.login(port, { 'client-id': 'mp' });
    assert.equal(reg.get('stomp')!.clients.get('mp')?.channel?.clientInfo.mountpoint, 'new/');
    c.destroy();
    await reg.putListener('stomp', 'tcp', 'default', { bind: '127.0.0.1:0', mountpoint: 'new/' });
    await old.waitClosed();
    const moved = await StompRaw.login(gatewayPort(b.node));
    moved.c.destroy();
  });

  it('a bad change is refused and nothing changes; unload stops the gateway and drops its config', async () => {
    const reg = b.node.gateways;
    await assert.rejects(reg.updateConf('stomp', { idle_timeout: 'soon' }));
    const port = gatewayPort(b.node);
    // A second listener on a port in use fails to start: the whole change is rolled back.
    await assert.rejects(reg.putListener('stomp', 'tcp', 'clash', { bind: `127.0.0.1:${port}` }));
    assert.equal(reg.rawListener('stomp', 'tcp', 'clash'), undefined);
    assert.equal(reg.get('stomp')!.listeners.has('stomp:tcp:clash'), false);
    const { c } = await StompRaw.login(port);
    await reg.unload('stomp');
    await c.waitClosed();
    assert.equal(reg.get('stomp'), undefined);
    assert.equal(reg.rawConfig('stomp'), undefined);
  });
});
