/** `hermod ctl gateway*` against a live node (every verb of EMQX's gateway CLI). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { gatewayPort } from './helpers.js';
import { StompRaw } from './stomp-client.js';

describe('hermod ctl gateway commands', () => {
  let b: TestBroker;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', b.dataDir!, ...args]);
  /** A command expected to succeed: its stdout (a failure shows stderr). */
  const ok = async (...args: string[]) => {
    const r = await ctl(...args);
    assert.equal(r.code, 0, `hermod ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    b = await startBroker({ api: true, tempDataDir: true });
  });
  after(() => b.stop());

  it('gateway-registry list names every gateway module', async () => {
    assert.match(await ok('gateway-registry', 'list'), /Registered Name: stomp, Protocol: stomp/);
  });

  it('gateway load / list / lookup / stop / start / unload', async () => {
    const conf = JSON.stringify({ listeners: [{ type: 'tcp', name: 'default', bind: '127.0.0.1:0' }] });
    assert.equal((await ok('gateway', 'load', 'stomp', conf)).trim(), 'ok');
    assert.equal((await ctl('gateway', 'load', 'stomp', conf)).code, 1);
    assert.match(
      await ok('gateway', 'list'),
      /Gateway\(name=stomp, status=running, clients=0, started_at=\d{4}-/,
    );
    assert.equal(JSON.parse(await ok('gateway', 'lookup', 'stomp')).status, 'running');
    await ok('gateway', 'stop', 'stomp');
    assert.match(await ok('gateway', 'list'), /Gateway\(name=stomp, status=stopped/);
    await ok('gateway', 'start', 'stomp');
    assert.match(await ok('gateway', 'list'), /Gateway\(name=stomp, status=running/);
    assert.equal((await ctl('gateway', 'load', 'stomp', 'not json')).code, 1);
  });

  it('gateway-clients list / lookup / kick and gateway-metrics', async () => {
    const { c } = await StompRaw.login(gatewayPort(b.node), { 'client-id': 'cli-client', login: 'u1' });
    assert.match(
      await ok('gateway-clients', 'list', 'stomp'),
      /Client\(cli-client, username=u1, peername=127\.0\.0\.1:\d+, .*connected=true/,
    );
    assert.match(await ok('gateway-clients', 'lookup', 'stomp', 'cli-client'), /^Client\(cli-client/);
    assert.equal(
      JSON.parse(await ok('--json', 'gateway-clients', 'lookup', 'stomp', 'cli-client')).proto_name,
      'STOMP',
    );
    assert.equal((await ok('gateway-clients', 'kick', 'stomp', 'cli-client')).trim(), 'ok');
    assert.equal((await c.next('ERROR')).body, 'Kicked out');
    assert.equal((await ctl('gateway-clients', 'lookup', 'stomp', 'cli-client')).code, 1);
    assert.match(await ok('gateway-clients', 'list', 'stomp'), /No clients\./);
    assert.match(await ok('gateway-metrics', 'stomp'), /client\.connected\s+: 1/);
    assert.equal((await ctl('gateway-metrics')).code, 1);
  });

  it('gateway unload', async () => {
    await ok('gateway', 'unload', 'stomp');
    assert.match(await ok('gateway', 'list'), /Gateway\(name=stomp, status=unloaded\)/);
    assert.equal((await ctl('gateway', 'unload', 'stomp')).code, 1);
    assert.match(await ok('gateway', 'lookup', 'stomp'), /not loaded/);
  });
});
