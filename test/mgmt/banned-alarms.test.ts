import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, sleep, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from './http.js';

/** Connects and resolves with the CONNACK refusal code (or 0 when accepted). */
async function connectCode(port: number, opts: Record<string, unknown>): Promise<number> {
  try {
    const c = await connectClient(port, opts);
    await end(c);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('management API: banned and alarms', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({ api: true });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('bans a client id: CONNECT refused with 0x8A (MQTT 5) and return code 5 (3.1.1) until unbanned', async () => {
    const r = await api.post('/banned', { as: 'clientid', who: 'evil', reason: 'testing' });
    assert.equal(r.status, 200);
    assert.equal(r.body.as, 'clientid');
    assert.equal(r.body.who, 'evil');
    assert.equal(r.body.by, 'mgmt_api');
    assert.equal(r.body.until, 'infinity');
    assert.match(r.body.at, /^\d{4}-/);
    assert.equal(await connectCode(b.port, { clientId: 'evil', protocolVersion: 5 }), 0x8a);
    assert.equal(await connectCode(b.port, { clientId: 'evil', protocolVersion: 4 }), 5);
    assert.equal(await connectCode(b.port, { clientId: 'good', protocolVersion: 5 }), 0);
    const dup = await api.post('/banned', { as: 'clientid', who: 'evil' });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.code, 'ALREADY_EXISTS');
    assert.equal((await api.del('/banned/clientid/evil')).status, 204);
    assert.equal(await connectCode(b.port, { clientId: 'evil', protocolVersion: 5 }), 0);
    const again = await api.del('/banned/clientid/evil');
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'NOT_FOUND');
  });

  it('bans by username, peer address, regular expression and network, with expiry', async () => {
    await api.post('/banned', { as: 'username', who: 'mallory' });
    assert.equal(
      await connectCode(b.port, { clientId: 'u1', username: 'mallory', protocolVersion: 5 }),
      0x8a,
    );
    await api.post('/banned', { as: 'clientid_re', who: '^bot-\\d+$' });
    assert.equal(await connectCode(b.port, { clientId: 'bot-17', protocolVersion: 5 }), 0x8a);
    assert.equal(await connectCode(b.port, { clientId: 'bot-x', protocolVersion: 5 }), 0);
    await api.post('/banned', { as: 'peerhost', who: '127.0.0.1', until: Math.floor(Date.now() / 1000) + 1 });
    assert.equal(await connectCode(b.port, { clientId: 'anyone', protocolVersion: 5 }), 0x8a);
    await sleep(1100);
    assert.equal(await connectCode(b.port, { clientId: 'anyone', protocolVersion: 5 }), 0, 'the ban expired');
    await api.post('/banned', { as: 'peerhost_net', who: '127.0.0.0/8' });
    assert.equal(await connectCode(b.port, { clientId: 'anyone2', protocolVersion: 5 }), 0x8a);
    await api.del(`/banned/peerhost_net/${encodeURIComponent('127.0.0.0/8')}`);

    const list = await api.get('/banned');
    assert.deepEqual(
      list.body.data.map((x: { as: string; who: string }) => `${x.as}:${x.who}`),
      ['username:mallory', 'clientid_re:^bot-\\d+$'],
    );
    assert.equal((await api.get('/banned?username=mallory')).body.data.length, 1);
    assert.equal((await api.get('/banned?like_clientid=bot')).body.data.length, 1);
    assert.equal((await api.get('/banned?username=a&clientid=b')).status, 400);
    assert.equal((await api.del('/banned')).status, 204);
    assert.equal((await api.get('/banned')).body.meta.count, 0);
  });

  it('refuses bad bans with 400 naming the problem', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ who: 'x' }, /as/],
      [{ as: 'hostname', who: 'x' }, /as/],
      [{ as: 'clientid' }, /who/],
      [{ as: 'peerhost', who: 'not-an-ip' }, /peerhost/],
      [{ as: 'peerhost_net', who: '10.0.0.0/99' }, /peerhost_net/],
      [{ as: 'clientid_re', who: '(' }, /regular expression/],
      [{ as: 'clientid', who: 'x', until: 1000 }, /expired/],
      [{ as: 'clientid', who: 'x', until: 'someday' }, /until/],
    ];
    for (const [body, re] of cases) {
      const r = await api.post('/banned', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'BAD_REQUEST');
      assert.match(r.body.message, re);
    }
  });

  it('keeps bans across restarts', async () => {
    const b2 = await startBroker({ api: true, tempDataDir: true });
    const c2 = await adminClient(b2);
    await c2.post('/banned', { as: 'clientid', who: 'sticky' });
    await b2.node.stop();
    const b3 = await startBroker({ dataDir: b2.dataDir });
    try {
      assert.equal(await connectCode(b3.port, { clientId: 'sticky', protocolVersion: 5 }), 0x8a);
    } finally {
      await b3.stop();
      await b2.stop();
    }
  });

  it('lists alarms, publishes $SYS alarm events and clears deactivated ones', async () => {
    const watcher = await connectClient(b.port);
    const got = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/+/alarms/#');
    const alarms = b.node.mgmt!.ctx.alarms;
    assert.equal(alarms.activate('high_cpu', { usage: 95 }, 'CPU is high'), true);
    assert.equal(alarms.activate('high_cpu'), false);
    const act = await api.get('/alarms?activated=true');
    assert.equal(act.body.meta.count, 1);
    const a = act.body.data[0];
    assert.equal(a.name, 'high_cpu');
    assert.equal(a.message, 'CPU is high');
    assert.deepEqual(a.details, { usage: 95 });
    assert.equal(a.activated, true);
    assert.equal(a.deactivate_at, 'infinity');
    assert.equal(a.node, 'hermod@127.0.0.1');
    alarms.deactivate('high_cpu');
    const [on, off] = await got.next(2);
    assert.equal(on!.topic, '$SYS/brokers/hermod@127.0.0.1/alarms/activate');
    assert.equal(JSON.parse(on!.payload.toString()).name, 'high_cpu');
    assert.equal(off!.topic, '$SYS/brokers/hermod@127.0.0.1/alarms/deactivate');
    assert.equal((await api.get('/alarms?activated=true')).body.meta.count, 0);
    const hist = await api.get('/alarms?activated=false');
    assert.equal(hist.body.data[0].activated, false);
    assert.match(hist.body.data[0].deactivate_at, /^\d{4}-/);
    assert.equal((await api.get('/alarms')).body.meta.count, 1);
    assert.equal((await api.del('/alarms')).status, 204);
    assert.equal((await api.get('/alarms?activated=false')).body.meta.count, 0);
    assert.equal((await api.get('/alarms?activated=perhaps')).status, 400);
    await end(watcher);
  });
});
