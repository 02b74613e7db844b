/**
 * Device management through the JSON topics with a real LwM2M device over UDP: every msgType, answers
 * with echoed fields and typed values (TLV from a 1.0 device, SenML JSON from a 1.1 one), separate
 * responses (`ack`), Reset (`coap_reset`), observe notifications and cancel, one command in flight, and
 * bad commands answered on the response topic, counted, the device untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers.js';
import { ACCEPT, CONTENT_FORMAT, codeText, opt, opts, readUint, URI_QUERY } from './device/coap.js';
import { type DeviceOptions, describe as text } from './device/device.js';
import { lwm2mFixture } from './helpers.js';

type Data = { reqPath?: string; code?: string; codeMsg?: string; content?: unknown };

describe('lwm2m: commands over MQTT (real device)', () => {
  const f = lwm2mFixture();
  let reqID = 100;

  /** A registered device, its command subscription in place. */
  const device = async (o: Omit<DeviceOptions, 'port'>) => {
    const { d, r } = await f.registered(o);
    assert.equal(codeText(r.code), '2.01');
    return d;
  };
  /** Sends a command and waits for its answer (by msgType and reqID). */
  const run = async (ep: string, msgType: string, data: Record<string, unknown>, answerType = msgType) => {
    const id = ++reqID;
    const from = f.app.ups.length;
    await f.app.command(ep, { reqID: id, msgType, data });
    const up = await f.app.answer(answerType, id, from);
    return { up, data: up.json.data as Data };
  };

  it('read /3/0 (TLV) ⇒ 2.05 content typed from the object definition, exact JSON with reqID echoed', async () => {
    await device({ ep: 'cmd-read' });
    const { up, data } = await run('cmd-read', 'read', { path: '/3/0' });
    assert.equal(up.topic, 'lwm2m/cmd-read/up/resp');
    assert.equal(data.code, '2.05');
    assert.equal(data.codeMsg, 'content');
    assert.equal(data.reqPath, '/3/0');
    const content = data.content as Array<{ path: string; value: unknown }>;
    const at = (p: string) => content.find((c) => c.path === p)?.value;
    assert.equal(at('/3/0/0'), 'Hermod Test Devices');
    assert.equal(at('/3/0/9'), 100);
    assert.equal(at('/3/0/13'), 1_700_000_000);
    assert.equal(at('/3/0/11/0'), 0);
    const one = await run('cmd-read', 'read', { path: '/3/0/1' });
    assert.equal(
      one.up.text,
      `{"data":{"code":"2.05","codeMsg":"content","content":[{"path":"/3/0/1","value":"TD-1"}],"reqPath":"/3/0/1"},"msgType":"read","reqID":${reqID}}`,
    );
    const missing = await run('cmd-read', 'read', { path: '/3/7' });
    assert.deepEqual([missing.data.code, missing.data.codeMsg], ['4.04', 'not_found']);
  });

  it('1.1 devices answer in SenML JSON or SenML CBOR; values come out the same', async () => {
    await device({ ep: 'cmd-senml', version: '1.1' });
    const { data } = await run('cmd-senml', 'read', { path: '/3/0/9' });
    assert.deepEqual(data.content, [{ path: '/3/0/9', value: 100 }]);
    await device({ ep: 'cmd-cbor', version: '1.1', cbor: true });
    const cbor = await run('cmd-cbor', 'read', { path: '/3/0' });
    const content = cbor.data.content as Array<{ path: string; value: unknown }>;
    assert.equal(content.find((c) => c.path === '/3/0/0')?.value, 'Hermod Test Devices');
    assert.equal(content.find((c) => c.path === '/3/0/13')?.value, 1_700_000_000);
  });

  it('write (single and batch) then read back; write-attr sends the attributes as query', async () => {
    const d = await device({ ep: 'cmd-write' });
    const w = await run('cmd-write', 'write', { path: '/3/0/14', type: 'String', value: '+02:00' });
    assert.deepEqual([w.data.code, w.data.codeMsg, w.data.reqPath], ['2.04', 'changed', '/3/0/14']);
    const put = d.requests.at(-1)!;
    assert.equal(codeText(put.code), '0.03');
    assert.equal(readUint(opt(put, CONTENT_FORMAT)!), 11542);
    const back = await run('cmd-write', 'read', { path: '/3/0/14' });
    assert.deepEqual(back.data.content, [{ path: '/3/0/14', value: '+02:00' }]);

    const batch = await run('cmd-write', 'write', {
      basePath: '/1/0',
      content: [
        { path: '/1', type: 'Integer', value: 600 },
        { path: '/6', type: 'Boolean', value: true },
      ],
    });
    assert.equal(batch.data.code, '2.04');
    assert.equal(codeText(d.requests.at(-1)!.code), '0.02'); // an instance-level batch is a partial update
    const after1 = await run('cmd-write', 'read', { path: '/1/0' });
    const c = after1.data.content as Array<{ path: string; value: unknown }>;
    assert.equal(c.find((x) => x.path === '/1/0/1')?.value, 600);
    assert.equal(c.find((x) => x.path === '/1/0/6')?.value, true);

    const attr = await run('cmd-write', 'write-attr', { path: '/3/0/9', pmin: '5', pmax: 60, gt: undefined });
    assert.equal(attr.data.code, '2.04');
    assert.deepEqual(opts(d.requests.at(-1)!, URI_QUERY), ['pmin=5', 'pmax=60']);
  });

  it('execute posts the arguments as text; discover answers links', async () => {
    const d = await device({ ep: 'cmd-exec' });
    const ex = await run('cmd-exec', 'execute', { path: '/3/0/4', args: "0='reboot'" });
    assert.deepEqual([ex.data.code, ex.data.codeMsg], ['2.04', 'changed']);
    assert.deepEqual(d.executed, ["/3/0/4 0='reboot'"]);
    const disc = await run('cmd-exec', 'discover', { path: '/3/0' });
    assert.equal(disc.data.code, '2.05');
    assert.equal(readUint(opt(d.requests.at(-1)!, ACCEPT)!), 40);
    const links = disc.data.content as string[];
    assert.equal(links[0], '</3/0>');
    assert.ok(links.includes('</3/0/13>'));
  });

  it('create then delete an object instance', async () => {
    const d = await device({ ep: 'cmd-create' });
    const cr = await run('cmd-create', 'create', {
      basePath: '/1',
      content: [
        { path: '/1/0', type: 'Integer', value: 102 },
        { path: '/1/1', type: 'Integer', value: 120 },
        { path: '/1/6', type: 'Boolean', value: false },
        { path: '/1/7', type: 'String', value: 'U' },
      ],
    });
    assert.deepEqual([cr.data.code, cr.data.codeMsg], ['2.01', 'created'], cr.up.text);
    assert.equal(d.tree.get(1)?.size, 2);
    const read = await run('cmd-create', 'read', { path: '/1/1/0' });
    assert.deepEqual(read.data.content, [{ path: '/1/1/0', value: 102 }]);
    const del = await run('cmd-create', 'delete', { path: '/1/1' });
    assert.deepEqual([del.data.code, del.data.codeMsg], ['2.02', 'deleted']);
    assert.equal(d.tree.get(1)?.size, 1);
  });

  it('observe ⇒ response, then notifications with seqNum on the notify topic; cancel-observe ends them', async () => {
    const d = await device({ ep: 'cmd-obs' });
    const from = f.app.ups.length;
    const ob = await run('cmd-obs', 'observe', { path: '/3/0/9' });
    assert.deepEqual(ob.data.content, [{ path: '/3/0/9', value: 100 }]);
    d.set('/3/0/9', { kind: 'Integer', v: 90 });
    d.set('/3/0/9', { kind: 'Integer', v: 80 });
    const n1 = await f.app.next(
      (u) => u.json.msgType === 'notify' && (u.json.data as Data).content !== undefined,
      5000,
      from,
    );
    assert.equal(n1.topic, 'lwm2m/cmd-obs/up/notify');
    await until(
      () => f.app.ups.slice(from).filter((u) => u.json.msgType === 'notify').length >= 2,
      5000,
      '2 notifications',
    );
    const notes = f.app.ups.slice(from).filter((u) => u.json.msgType === 'notify');
    assert.deepEqual(
      notes.map((u) => [(u.json.data as Data).content, typeof u.json.seqNum]),
      [
        [[{ path: '/3/0/9', value: 90 }], 'number'],
        [[{ path: '/3/0/9', value: 80 }], 'number'],
      ],
    );
    assert.ok((notes[1]!.json.seqNum as number) > (notes[0]!.json.seqNum as number));
    assert.equal(notes[0]!.json.reqID, ob.up.json.reqID); // the observe command's fields are echoed

    const cancel = await run('cmd-obs', 'cancel-observe', { path: '/3/0/9' });
    assert.equal(cancel.data.code, '2.05');
    const before = f.app.ups.filter((u) => u.json.msgType === 'notify').length;
    d.set('/3/0/9', { kind: 'Integer', v: 70 });
    await run('cmd-obs', 'read', { path: '/3/0/0' }); // a round trip later, still no notification
    assert.equal(f.app.ups.filter((u) => u.json.msgType === 'notify').length, before);
  });

  it('a separate response: "ack" first, then the answer; a Reset ⇒ coap_reset', async () => {
    const d = await device({ ep: 'cmd-sep', separate: true });
    const id = ++reqID;
    const from = f.app.ups.length;
    await f.app.command('cmd-sep', { reqID: id, msgType: 'read', data: { path: '/3/0/2' } });
    const ack = await f.app.answer('ack', id, from);
    assert.equal(ack.text, `{"data":{"path":"/3/0/2"},"msgType":"ack","reqID":${id}}`);
    const res = await f.app.answer('read', id, from);
    assert.deepEqual((res.json.data as Data).content, [{ path: '/3/0/2', value: 'SN-0001' }]);
    d.resetOn.add('/3/0/3');
    const rst = await run('cmd-sep', 'read', { path: '/3/0/3' }, 'coap_reset');
    assert.equal(rst.up.text, `{"data":{"path":"/3/0/3"},"msgType":"coap_reset","reqID":${reqID}}`);
  });

  it('commands go one at a time: the next is sent after the answer of the previous', async () => {
    const d = await device({ ep: 'cmd-seq' });
    const from = f.app.ups.length;
    const n0 = d.requests.length;
    for (let k = 0; k < 5; k++)
      await f.app.command('cmd-seq', { reqID: 900 + k, msgType: 'read', data: { path: `/3/0/${k}` } });
    await until(
      () => f.app.ups.slice(from).filter((u) => u.json.msgType === 'read').length === 5,
      5000,
      '5 answers',
    );
    assert.deepEqual(d.requests.slice(n0).map(text), [
      '0.01 /3/0/0',
      '0.01 /3/0/1',
      '0.01 /3/0/2',
      '0.01 /3/0/3',
      '0.01 /3/0/4',
    ]);
    assert.deepEqual(
      f.app.ups
        .slice(from)
        .filter((u) => u.json.msgType === 'read')
        .map((u) => u.json.reqID),
      [900, 901, 902, 903, 904],
    );
  });

  it('malformed JSON, an unknown msgType, a bad path: 4.00 answers on the response topic, counted, device untouched', async () => {
    const d = await device({ ep: 'cmd-bad' });
    const metric = () => f.b.node.gateways.get('lwm2m')!.metrics.get('messages.dropped');
    const before = metric();
    const n0 = d.requests.length;
    const from = f.app.ups.length;
    await f.app.command('cmd-bad', '{"msgType": "read", ');
    await f.app.command('cmd-bad', { reqID: 1, msgType: 'explode', data: { path: '/3/0' } });
    await f.app.command('cmd-bad', { reqID: 2, msgType: 'read', data: { path: '/three/0' } });
    await f.app.command('cmd-bad', {
      reqID: 3,
      msgType: 'write',
      data: { path: '/3/0/14', type: 'Integer', value: 'x' },
    });
    await f.app.command('cmd-bad', [1, 2, 3]);
    await until(
      () => f.app.ups.slice(from).filter((u) => (u.json.data as Data)?.code === '4.00').length === 5,
      5000,
      '5 refusals',
    );
    const refusals = f.app.ups.slice(from).filter((u) => (u.json.data as Data)?.code === '4.00');
    assert.deepEqual(
      refusals.map((u) => [u.json.msgType, u.json.reqID]),
      [
        [undefined, undefined],
        ['explode', 1],
        ['read', 2],
        ['write', 3],
        [undefined, undefined],
      ],
    );
    assert.match(String((refusals[0]!.json.data as Record<string, unknown>).reason), /malformed JSON/);
    assert.equal(metric(), before + 5);
    assert.equal(d.requests.length, n0);
    // The device still answers commands.
    const ok = await run('cmd-bad', 'read', { path: '/3/0/1' });
    assert.equal(ok.data.code, '2.05');
  });

  it('a large answer in Block2 blocks is fetched block by block and decoded whole', async () => {
    const d = await device({ ep: 'cmd-block', block: 0 }); // 16-byte blocks
    const { data } = await run('cmd-block', 'read', { path: '/3/0' });
    assert.equal(data.code, '2.05');
    const content = data.content as Array<{ path: string; value: unknown }>;
    assert.equal(content.find((c) => c.path === '/3/0/0')?.value, 'Hermod Test Devices');
    assert.equal(content.find((c) => c.path === '/3/0/16')?.value, 'U');
    assert.ok(d.requests.filter((m) => text(m) === '0.01 /3/0').length > 3);
  });
});
