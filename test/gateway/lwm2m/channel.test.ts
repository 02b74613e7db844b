/**
 * The LwM2M channel alone (a recording context, timers fired by hand): what takes real minutes on the
 * wire — a command the device never acknowledges ends as `coap_timeout` after the CoAP retransmissions —
 * and the message-layer rules: a repeated request gets the same answer, a stray ACK is dropped, a
 * notification nobody asked for gets a Reset, a separate response that never comes times out.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CoapMessage } from '../../../src/gateway/coap/message.js';
import { Opt } from '../../../src/gateway/coap/message.js';
import { Lwm2mChannel } from '../../../src/gateway/lwm2m/channel.js';
import type { DataLayer } from '../../../src/gateway/lwm2m/data.js';
import { loadDataLayer } from '../../../src/gateway/lwm2m/load.js';
import type { Lwm2mConfig } from '../../../src/gateway/lwm2m/schema.js';
import type { Delivery, Reply } from '../../../src/gateway/types.js';
import { FakeChannelContext } from '../fake-context.js';

type R = Reply<CoapMessage>;
const T = (topic: string) => ({ topic, qos: 0 });
const config = {
  lifetime_min: 1000,
  lifetime_max: 86_400_000,
  qmode_time_window: 22_000,
  auto_observe: false,
  update_msg_publish_condition: 'contains_object_list',
  xml_dir: '',
  translators: {
    command: T('dn/#'),
    response: T('up/resp'),
    notify: T('up/notify'),
    register: T('up/resp'),
    update: T('up/resp'),
  },
} as unknown as Lwm2mConfig;

const register = (mid: number): CoapMessage => ({
  type: 'CON',
  code: '0.02',
  messageId: mid,
  token: Buffer.from([1]),
  options: [
    { number: Opt.UriPath, value: Buffer.from('rd') },
    { number: Opt.UriQuery, value: Buffer.from('ep=unit') },
    { number: Opt.UriQuery, value: Buffer.from('lt=60') },
  ],
  payload: Buffer.from('</3/0>'),
});
const sent = (rs: R[] | Promise<R[]>): CoapMessage[] =>
  (rs as R[]).flatMap((r) => (r.type === 'send' ? [r.frame] : []));
const delivery = (payload: string) =>
  ({ msg: { payload: Buffer.from(payload), expiresAt: 0 }, packetId: 0, qos: 0 }) as unknown as Delivery;

describe('lwm2m channel (recording context)', () => {
  let data: DataLayer;
  before(async () => {
    data = await loadDataLayer('');
  });
  const registered = () => {
    const ctx = new FakeChannelContext(config, {}, { gateway: 'lwm2m' });
    const ch = new Lwm2mChannel(ctx, data);
    const first = sent(ch.handleIn(register(1)));
    assert.equal(first[0]?.code, '2.01');
    ch.handleTimeout('registered', undefined);
    return { ctx, ch };
  };
  const uplinks = (ctx: FakeChannelContext<Lwm2mConfig>) =>
    ctx.calls.published.map((p) => JSON.parse(p.payload.toString()) as Record<string, unknown>);

  it('a repeated Register gets the very same answer and registers once', () => {
    const { ctx, ch } = registered();
    const again = sent(ch.handleIn(register(1)));
    assert.equal(again[0]?.code, '2.01');
    assert.equal(ctx.calls.logins.length, 1);
    assert.deepEqual(
      ctx.calls.subscribed.map(([t]) => t),
      ['dn/#'],
    );
    assert.deepEqual(
      uplinks(ctx).map((u) => u.msgType),
      ['register'],
    );
  });

  it('no ACK after MAX_RETRANSMIT resends ⇒ coap_timeout; the next command goes out then', () => {
    const { ctx, ch } = registered();
    assert.ok(ch.handleDeliver(delivery('{"reqID":5,"msgType":"read","data":{"path":"/3/0/0"}}')));
    assert.ok(ch.handleDeliver(delivery('{"reqID":6,"msgType":"read","data":{"path":"/3/0/1"}}')));
    const [req] = sent(ch.handleTimeout('pump', undefined));
    assert.equal(req?.type, 'CON');
    for (let k = 0; k < 4; k++) {
      const again = sent(ch.handleTimeout('retransmit', req!.messageId));
      assert.equal(again[0]?.messageId, req!.messageId);
    }
    const next = sent(ch.handleTimeout('retransmit', req!.messageId));
    assert.deepEqual(uplinks(ctx).at(-1), { data: { path: '/3/0/0' }, msgType: 'coap_timeout', reqID: 5 });
    assert.equal(next.length, 1);
    assert.notEqual(next[0]!.messageId, req!.messageId);
  });

  it('a stray ACK is dropped; a CON notification with an unknown token gets a Reset', () => {
    const { ctx, ch } = registered();
    const stray: CoapMessage = {
      type: 'ACK',
      code: '2.05',
      messageId: 4242,
      token: Buffer.from([9]),
      options: [],
      payload: Buffer.alloc(0),
    };
    assert.deepEqual(ch.handleIn(stray), []);
    assert.ok(ctx.calls.metrics.includes('packets.dropped'));
    const note = {
      ...stray,
      type: 'CON' as const,
      messageId: 77,
      options: [{ number: Opt.Observe, value: Buffer.from([3]) }],
    };
    const [rst] = sent(ch.handleIn(note));
    assert.deepEqual([rst?.type, rst?.messageId], ['RST', 77]);
  });

  it('an empty ACK whose separate response never comes ends as coap_timeout', () => {
    const { ctx, ch } = registered();
    ch.handleDeliver(delivery('{"reqID":8,"msgType":"read","data":{"path":"/3/0/0"}}'));
    const [req] = sent(ch.handleTimeout('pump', undefined));
    const ack: CoapMessage = {
      type: 'ACK',
      code: '0.00',
      messageId: req!.messageId,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
    };
    const replies = ch.handleIn(ack) as R[];
    const timer = replies.find((r) => r.type === 'timer' && r.name === 'separate');
    assert.ok(timer !== undefined && timer.type === 'timer');
    assert.deepEqual(uplinks(ctx).at(-1), { data: { path: '/3/0/0' }, msgType: 'ack', reqID: 8 });
    ch.handleTimeout('separate', timer.data);
    assert.deepEqual(uplinks(ctx).at(-1), { data: { path: '/3/0/0' }, msgType: 'coap_timeout', reqID: 8 });
  });
});
