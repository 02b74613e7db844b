import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqttPacket, { type IPublishPacket, type ISubackPacket, type Packet } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

/**
 * Filter i of a 100-filter SUBSCRIBE, what the broker should answer for it (QoS granted or a failure code)
 * and, for a granted one, a topic it matches.
 */
interface Case {
  filter: string;
  qos: 0 | 1 | 2;
  code: number;
  topic?: string;
}

const INVALID = ['bad/#/x', 'bad+', '$share//b', '$share/g'];

function cases(): Case[] {
  return Array.from({ length: 100 }, (_, i): Case => {
    const qos = (i % 3) as 0 | 1 | 2;
    if (i % 10 === 7) return { filter: `${INVALID[((i / 10) % 4) | 0]}${i}`, qos, code: 0x8f };
    if (i % 10 === 3) return { filter: `secret/${i}`, qos, code: 0x87 };
    if (i % 10 === 5) return { filter: `$share/grp/sh/${i}`, qos, code: qos, topic: `sh/${i}` };
    switch (i % 4) {
      case 0:
        return { filter: `m/${i}`, qos, code: qos, topic: `m/${i}` };
      case 1:
        return { filter: `m/+/${i}`, qos, code: qos, topic: `m/x/${i}` };
      case 2:
        return { filter: `+/w/${i}`, qos, code: qos, topic: `p/w/${i}` };
      default:
        return { filter: `h/${i}/#`, qos, code: qos, topic: `h/${i}/deep/er` };
    }
  });
}

/** Every packet the client receives, in arrival order (RawClient's own list loses the order once awaited). */
function arrivals(c: RawClient): Packet[] {
  const out: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: c.version });
  parser.on('packet', (p: Packet) => out.push(p));
  c.socket.on('data', (d) => parser.parse(d));
  return out;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

describe('SUBSCRIBE of 100 mixed filters', () => {
  let b: TestBroker;
  const dir = mkdtempSync(join(tmpdir(), 'hermod-subbatch-'));
  before(async () => {
    const acl = join(dir, 'acl.conf');
    writeFileSync(acl, '{deny, all, subscribe, ["secret/#"]}.\n{allow, all}.');
    b = await startBroker({
      config: {
        authorization: { no_match: 'allow', deny_action: 'ignore', sources: [{ type: 'file', path: acl }] },
      },
    });
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const version of [5, 4] as const) {
    it(`answers each filter with its own code and delivers on the granted ones (MQTT ${version === 5 ? '5' : '3.1.1'})`, async () => {
      const cs = cases();
      const { client: pub } = await RawClient.connect(b.port, { clientId: `pub${version}` }, 5);
      // A retained message on the first filter: it must come after the SUBACK.
      pub.send({
        cmd: 'publish',
        topic: 'm/0',
        payload: Buffer.from('retained'),
        qos: 0,
        retain: true,
        dup: false,
      });
      await sleep(50);
      const { client: sub } = await RawClient.connect(b.port, { clientId: `sub${version}` }, version);
      const seen = arrivals(sub);
      sub.send({
        cmd: 'subscribe',
        messageId: 7,
        subscriptions: cs.map((c) => ({ topic: c.filter, qos: c.qos })),
        ...(version === 5 ? { properties: { subscriptionIdentifier: 42 } } : {}),
      } as Packet);
      const suback = (await sub.next('suback')) as ISubackPacket;
      assert.equal(suback.messageId, 7);
      assert.deepEqual(
        suback.granted,
        cs.map((c) => (version === 5 ? c.code : Math.min(c.code, 0x80))),
      );
      await until(() => seen.some((p) => p.cmd === 'publish'));
      assert.deepEqual(
        seen.slice(0, 2).map((p) => [p.cmd, p.cmd === 'publish' ? String(p.payload) : '']),
        [
          ['suback', ''],
          ['publish', 'retained'],
        ],
      );

      for (const [i, c] of cs.entries()) {
        // Also to the refused filters' topics: nothing of them may arrive.
        const topic = c.topic ?? (c.code === 0x87 ? c.filter : undefined);
        if (topic !== undefined)
          pub.send({
            cmd: 'publish',
            topic,
            payload: Buffer.from(String(i)),
            qos: 0,
            retain: false,
            dup: false,
          });
      }
      const want = cs.flatMap((c, i) => (c.topic !== undefined ? [String(i)] : []));
      const live = () => seen.filter((p): p is IPublishPacket => p.cmd === 'publish' && !p.retain);
      await until(() => live().length >= want.length);
      await sleep(100);
      assert.deepEqual(
        live()
          .map((p) => String(p.payload))
          .sort(),
        want.sort(),
      );
      if (version === 5) {
        for (const p of live()) assert.equal(p.properties?.subscriptionIdentifier, 42, p.topic);
      }
      const session = b.node.broker.registry.get('mqtt', `sub${version}`)?.session;
      assert.equal(session?.subscriptions.size, want.length);
      assert.equal(session?.subscriptions.get('$share/grp/sh/5')?.share, 'grp');
      sub.disconnect();
      pub.disconnect();
      await sleep(50);
    });
  }

  it('lets a client.subscribe hook change a filter’s options without touching anyone else’s', async () => {
    const seen: Array<{ topic: string; qos: number; is_new: boolean | undefined }> = [];
    const offFold = b.node.hooks.add(
      'client.subscribe',
      (client, _props, filters) => {
        if (client.clientid !== 'hooked') return undefined;
        // Changed in place, as a plugin might: the broker must have handed over its own copy.
        for (const f of filters) if (f.topic === 'hk/a') f.opts.qos = 0;
        return { ok: filters.filter((f) => f.topic !== 'hk/drop') };
      },
      1,
    );
    const offSeen = b.node.hooks.add(
      'session.subscribed',
      (_client, topic, opts) => {
        seen.push({ topic, qos: opts.qos, is_new: opts.is_new });
        return undefined;
      },
      1,
    );
    try {
      const { client: hooked } = await RawClient.connect(b.port, { clientId: 'hooked' }, 5);
      hooked.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'hk/a', qos: 2 },
          { topic: 'hk/b', qos: 2 },
          { topic: 'hk/drop', qos: 2 },
        ],
      });
      assert.deepEqual(((await hooked.next('suback')) as ISubackPacket).granted, [0, 2, 0x80]);
      const { client: other } = await RawClient.connect(b.port, { clientId: 'other' }, 5);
      other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'hk/a', qos: 2 }] });
      assert.deepEqual(((await other.next('suback')) as ISubackPacket).granted, [2]);
      assert.deepEqual(seen, [
        { topic: 'hk/a', qos: 0, is_new: true },
        { topic: 'hk/b', qos: 2, is_new: true },
        { topic: 'hk/a', qos: 2, is_new: true },
      ]);
      hooked.disconnect();
      other.disconnect();
    } finally {
      offFold();
      offSeen();
    }
  });
  it('gives a session.subscribed listener options of its own to change, without touching the subscription', async () => {
    const seen: Array<{ topic: string; is_new: boolean | undefined }> = [];
    let session: ReturnType<typeof b.node.broker.sessionOf>;
    const off = b.node.hooks.add(
      'session.subscribed',
      (client, topic, opts) => {
        if (client.clientid !== 'scribbler') return undefined;
        session = b.node.broker.sessionOf(client);
        // Written to, as a plugin might: that must neither fail nor reach the stored options.
        opts.qos = 0;
        opts.is_new = false;
        seen.push({ topic, is_new: opts.is_new });
        return undefined;
      },
      1,
    );
    try {
      const { client } = await RawClient.connect(b.port, { clientId: 'scribbler' }, 5);
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'scr/a', qos: 2 }] });
      assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [2]);
      client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'scr/b', qos: 2 }] });
      assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [2]);
      assert.deepEqual(seen, [
        { topic: 'scr/a', is_new: false },
        { topic: 'scr/b', is_new: false },
      ]);
      assert.equal(session?.subscriptions.get('scr/a')?.qos, 2);
      assert.equal(session?.subscriptions.get('scr/b')?.is_new, undefined);
      client.disconnect();
    } finally {
      off();
    }
  });
  it('tells a new subscription from a repeated one after unsubscribes (retain handling 1), listing each once', async () => {
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'rh-pub' }, 5);
    for (const t of ['rh/a', 'rh/b'])
      pub.send({ cmd: 'publish', topic: t, payload: Buffer.from(t), qos: 0, retain: true, dup: false });
    await sleep(50);
    const { client } = await RawClient.connect(b.port, { clientId: 'rh-sub' }, 5);
    const seen = arrivals(client);
    const retained = () => seen.filter((p): p is IPublishPacket => p.cmd === 'publish').map((p) => p.topic);
    let id = 1;
    const subscribe = async (...topics: string[]) => {
      client.send({
        cmd: 'subscribe',
        messageId: id++,
        subscriptions: topics.map((topic) => ({ topic, qos: 1, rh: 1 })),
      } as Packet);
      await client.next('suback');
      await sleep(50);
    };
    // New: retained sent. Repeated (also within one packet): not again.
    await subscribe('rh/a', 'rh/b');
    await subscribe('rh/a');
    await subscribe('rh/b', 'rh/b');
    assert.deepEqual(retained(), ['rh/a', 'rh/b']);
    client.send({ cmd: 'unsubscribe', messageId: id++, unsubscriptions: ['rh/a'] } as Packet);
    await client.next('unsuback');
    // New again after the UNSUBSCRIBE, and then listed after rh/b, which stayed.
    await subscribe('rh/a');
    await subscribe('rh/a');
    assert.deepEqual(retained(), ['rh/a', 'rh/b', 'rh/a']);
    const session = b.node.broker.registry.get('mqtt', 'rh-sub')?.session;
    assert.deepEqual([...(session?.subscriptions.keys() ?? [])], ['rh/b', 'rh/a']);
    client.disconnect();
    pub.disconnect();
  });

  it('refuses just the filter a client.subscribe hook drops from the middle, rewrites kept as rewritten', async () => {
    const seen: string[] = [];
    const offFold = b.node.hooks.add(
      'client.subscribe',
      (client, _props, filters) => {
        if (client.clientid !== 'dropper') return undefined;
        // New entry objects, as a plugin building its own list might return: one dropped, one rewritten.
        const out = filters
          .filter((f) => f.topic !== 'dm/drop')
          .map((f) => ({ topic: f.topic === 'dm/old' ? 'dm/new' : f.topic, opts: { ...f.opts } }));
        return { ok: out };
      },
      1,
    );
    const offSeen = b.node.hooks.add(
      'session.subscribed',
      (client, topic) => {
        if (client.clientid === 'dropper') seen.push(topic);
        return undefined;
      },
      1,
    );
    try {
      const { client } = await RawClient.connect(b.port, { clientId: 'dropper' }, 5);
      client.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'dm/a', qos: 1 },
          { topic: 'dm/drop', qos: 1 },
          { topic: 'dm/c', qos: 1 },
        ],
      });
      // The dropped filter is refused; its neighbour keeps its own filter (not subscribed as another's).
      assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [1, 0x80, 1]);
      assert.deepEqual(seen, ['dm/a', 'dm/c']);
      client.send({
        cmd: 'subscribe',
        messageId: 2,
        subscriptions: [
          { topic: 'dm/old', qos: 1 },
          { topic: 'dm/drop', qos: 1 },
        ],
      });
      // Nothing pairs dm/old with the rewritten dm/new once a filter is gone: refused, not guessed.
      assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [0x80, 0x80]);
      client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'dm/old', qos: 1 }] });
      assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [1]);
      assert.deepEqual(seen, ['dm/a', 'dm/c', 'dm/new']);
      client.disconnect();
    } finally {
      offFold();
      offSeen();
    }
  });
});

describe('SUBSCRIBE under a mountpoint', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { listeners: { tcp: { default: { mountpoint: 'mp/' } } } } });
  });
  after(() => b.stop());

  it('routes the mounted filters, shares inside the prefix, and delivers unmounted topics', async () => {
    const { client: sub } = await RawClient.connect(b.port, { clientId: 'msub' }, 5);
    sub.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'a/+', qos: 1 },
        { topic: '$share/g/s/#', qos: 0 },
      ],
    });
    assert.deepEqual(((await sub.next('suback')) as ISubackPacket).granted, [1, 0]);
    const session = b.node.broker.registry.get('mqtt', 'msub')?.session;
    assert.deepEqual([...(session?.subscriptions.keys() ?? [])], ['mp/a/+', '$share/g/mp/s/#']);
    assert.notEqual(b.node.broker.router.lookup('mp/a/+'), undefined);
    assert.notEqual(b.node.broker.router.lookup('mp/s/#')?.groups?.get('g'), undefined);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'mpub' }, 5);
    pub.send({ cmd: 'publish', topic: 'a/1', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    pub.send({ cmd: 'publish', topic: 's/t', payload: Buffer.from('y'), qos: 0, retain: false, dup: false });
    const got = [
      (await sub.next('publish')) as IPublishPacket,
      (await sub.next('publish')) as IPublishPacket,
    ];
    assert.deepEqual(got.map((p) => p.topic).sort(), ['a/1', 's/t']);
    sub.disconnect();
    pub.disconnect();
  });
});
