/**
 * The STOMP channel without sockets: the shared FakeChannelContext records broker calls and the replies
 * are checked directly (the pattern every gateway channel can be tested with).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Message } from '../../src/broker/message.js';
import { StompChannel } from '../../src/gateway/stomp/channel.js';
import { frame, header, type StompFrame } from '../../src/gateway/stomp/frame.js';
import type { StompConfig } from '../../src/gateway/stomp/schema.js';
import type { Reply } from '../../src/gateway/types.js';
import { FakeChannelContext, type FakeContextOptions } from './fake-context.js';

type R = Reply<StompFrame>;

function fakeContext(opts: FakeContextOptions = {}) {
  const ctx = new FakeChannelContext({ transaction_timeout: 60_000 } as StompConfig, opts, {
    gateway: 'stomp',
  });
  return { ctx, calls: ctx.calls };
}

const sent = (replies: R[]) => replies.flatMap((r) => (r.type === 'send' ? [r.frame] : []));
const types = (replies: R[]) => replies.map((r) => r.type);

function connected(opts: Parameters<typeof fakeContext>[0] = {}) {
  const f = fakeContext(opts);
  const ch = new StompChannel(f.ctx);
  ch.handleIn(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,0' })) as R[];
  return { ch, ...f };
}

describe('stomp channel (no sockets)', () => {
  it('CONNECT: login request from headers, then CONNECTED, connected, heart-beat timers', () => {
    const { ctx, calls } = fakeContext();
    const ch = new StompChannel(ctx);
    const r = ch.handleIn(
      frame('CONNECT', { 'accept-version': '1.1,1.2', 'heart-beat': '1000,500', login: 'u', passcode: 'p' }),
    ) as R[];
    assert.deepEqual(types(r), ['send', 'connected', 'timer', 'timer']);
    assert.equal(sent(r)[0]!.command, 'CONNECTED');
    assert.equal(header(sent(r)[0]!, 'heart-beat'), '500,1000');
    const req = calls.logins[0]!;
    assert.equal(req.username, 'u');
    assert.equal(req.proto_ver, '1.2');
    assert.equal(req.keepalive, 1);
    assert.deepEqual((req.packet.headers as Record<string, string>).login, 'u');
  });

  it('an asynchronous login answers with a Promise of the same replies', async () => {
    const { ctx } = fakeContext({ asyncLogin: true });
    const r = new StompChannel(ctx).handleIn(frame('CONNECT', {}));
    assert.ok(r instanceof Promise);
    assert.deepEqual(types(await r), ['send', 'connected']);
  });

  it('SEND publishes with pass-through headers; a denied one is ERROR + close', () => {
    const { ch, calls } = connected({ deny: 'no/t' });
    const r = ch.handleIn(
      frame('SEND', { destination: 'a/b', receipt: '1', x: 'y' }, Buffer.from('hi')),
    ) as R[];
    assert.equal(sent(r)[0]!.command, 'RECEIPT');
    assert.equal(calls.published[0]!.topic, 'a/b');
    assert.deepEqual(calls.published[0]!.headers?.stomp_headers, [['x', 'y']]);
    const d = ch.handleIn(frame('SEND', { destination: 'no/t' })) as R[];
    assert.deepEqual(types(d), ['send', 'close']);
    assert.equal(sent(d)[0]!.body.toString(), 'Insufficient permissions for no/t');
  });

  it('transactions hold SENDs until COMMIT', () => {
    const { ch, calls } = connected();
    ch.handleIn(frame('BEGIN', { transaction: 't' }));
    ch.handleIn(frame('SEND', { destination: 'q', transaction: 't' }, Buffer.from('1')));
    assert.equal(calls.published.length, 0);
    const r = ch.handleIn(frame('COMMIT', { transaction: 't', receipt: 'c' })) as R[];
    assert.equal(calls.published.length, 1);
    assert.equal(header(sent(r)[0]!, 'receipt-id'), 'c');
  });

  it('open transactions are bounded: the frame past the limit is ERROR "Transaction too large" + close', () => {
    const { ch } = connected();
    ch.handleIn(frame('BEGIN', { transaction: 'big' }));
    const send = frame('SEND', { destination: 'q', transaction: 'big' }, Buffer.from('x'));
    for (let i = 0; i < 10_000; i++) assert.deepEqual(ch.handleIn(send), []);
    const r = ch.handleIn(send) as R[];
    assert.deepEqual(types(r), ['send', 'close']);
    assert.equal(sent(r)[0]!.body.toString(), 'Transaction too large');
  });

  it('deliveries become MESSAGE frames for the subscription that matched', () => {
    const { ch, calls } = connected();
    ch.handleIn(frame('SUBSCRIBE', { id: 's1', destination: 'd/#', ack: 'client' }));
    const opts = calls.subscribed[0]![1];
    const msg = new Message('d/x', Buffer.from('p'), 0, 'other', false, { contentType: 'application/json' });
    const r = ch.handleDeliver({ msg, topic: 'd/x', qos: 0, packetId: 0, retain: false, dup: false, opts })!;
    const m = sent(r)[0]!;
    assert.equal(m.command, 'MESSAGE');
    assert.equal(header(m, 'subscription'), 's1');
    assert.equal(header(m, 'content-type'), 'application/json');
    assert.equal(header(m, 'ack'), '1');
    assert.equal(
      // Options the channel never gave and a topic none of its subscriptions match: refused.
      ch.handleDeliver({
        msg: new Message('zz/y', Buffer.alloc(0), 0, 'other', false),
        topic: 'zz/y',
        qos: 0,
        packetId: 0,
        retain: false,
        dup: false,
        opts: { qos: 0, nl: 0, rap: 0, rh: 0 },
      }),
      undefined,
    );
  });

  it('kicks: Kicked out / Discarded ERROR then close; shutdown closes silently', () => {
    assert.deepEqual(
      sent(connected().ch.handleKick('kicked')).map((f) => f.body.toString()),
      ['Kicked out'],
    );
    assert.deepEqual(
      sent(connected().ch.handleKick('discarded')).map((f) => f.body.toString()),
      ['Discarded'],
    );
    assert.deepEqual(types(connected().ch.handleKick('shutdown')), ['close']);
  });

  it('frame errors: silent close before login, ERROR + close after', () => {
    const { ctx } = fakeContext();
    assert.deepEqual(
      types(new StompChannel(ctx).handleFrameError({ reason: 'too_many_headers', message: 'x' }) as R[]),
      ['close'],
    );
    assert.deepEqual(
      types(connected().ch.handleFrameError({ reason: 'too_long_body', message: 'x' }) as R[]),
      ['send', 'close'],
    );
  });
});
