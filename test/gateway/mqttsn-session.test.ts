/** clean_session=false: the session outlives the connection; subs_resume REGISTERs subscriptions on resume. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectClient } from '../helpers/clients.js';
import { startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn: persistent sessions', () => {
  it('subs_resume off: queued messages are replayed after reconnect, with a REGISTER for the topic first', async () => {
    const b = await startSnBroker({ subs_resume: false });
    const m = await connectClient(b.port);
    const c1 = await SnClient.connected(b.snPort, 'keeper', { clean: false });
    try {
      await c1.subscribe(1, 'keep/t', 1);
      await c1.subscribe(2, 'keep/other', 1);
      c1.send(build.disconnect());
      await c1.next(T.DISCONNECT);
      await m.publishAsync('keep/t', 'while away', { qos: 1 });
      // A new socket (new source port) resumes the session.
      const c2 = await SnClient.connected(b.snPort, 'keeper', { clean: false });
      try {
        const reg = await c2.next(T.REGISTER);
        assert.equal(reg.topicName, 'keep/t');
        c2.send(build.regack(reg.topicId!, reg.msgId!, 0));
        const p = await c2.next(T.PUBLISH);
        assert.deepEqual([p.topicId, p.data!.toString()], [reg.topicId, 'while away']);
        c2.send(build.puback(p.topicId!, p.msgId!, 0));
        // No REGISTER for the subscription without queued messages.
        await c2.nothing(300, T.REGISTER);
        // The subscription survived: live messages arrive too.
        await m.publishAsync('keep/other', 'live', { qos: 0 });
        const r2 = await c2.next(T.REGISTER);
        c2.send(build.regack(r2.topicId!, r2.msgId!, 0));
        assert.equal((await c2.next(T.PUBLISH)).data!.toString(), 'live');
      } finally {
        c2.close();
      }
    } finally {
      c1.close();
      m.end(true);
      await b.stop();
    }
  });

  it('subs_resume on: every plain subscribed topic is REGISTERed before queued messages are replayed', async () => {
    const b = await startSnBroker({ subs_resume: true });
    const m = await connectClient(b.port);
    const c1 = await SnClient.connected(b.snPort, 'resumer', { clean: false });
    try {
      await c1.subscribe(1, 'res/a', 1);
      await c1.subscribe(2, 'res/b', 1);
      await c1.subscribe(3, 'res/+', 1);
      c1.send(build.disconnect());
      await c1.next(T.DISCONNECT);
      await m.publishAsync('res/b', 'queued', { qos: 1 });
      const c2 = await SnClient.connected(b.snPort, 'resumer', { clean: false });
      try {
        const names: string[] = [];
        const ids = new Map<string, number>();
        for (let i = 0; i < 2; i++) {
          const reg = await c2.next(T.REGISTER);
          await c2.nothing(100, T.PUBLISH);
          names.push(reg.topicName!);
          ids.set(reg.topicName!, reg.topicId!);
          c2.send(build.regack(reg.topicId!, reg.msgId!, 0));
        }
        assert.deepEqual(names.sort(), ['res/a', 'res/b']);
        // Matched by two subscriptions (res/b and res/+): delivered once per subscription.
        const p = await c2.next(T.PUBLISH);
        assert.deepEqual([p.topicId, p.data!.toString()], [ids.get('res/b'), 'queued']);
        c2.send(build.puback(p.topicId!, p.msgId!, 0));
      } finally {
        c2.close();
      }
    } finally {
      c1.close();
      m.end(true);
      await b.stop();
    }
  });

  it('clean_session=true discards the old session; the same id from another address takes over', async () => {
    const b = await startSnBroker();
    const m = await connectClient(b.port);
    const c1 = await SnClient.connected(b.snPort, 'twin');
    try {
      await c1.subscribe(1, 'twin/t');
      const c2 = await SnClient.connected(b.snPort, 'twin');
      try {
        // The old connection is told and closed.
        await c1.next(T.DISCONNECT);
        await m.publishAsync('twin/t', 'x');
        await c2.nothing(300, T.PUBLISH);
      } finally {
        c2.close();
      }
    } finally {
      c1.close();
      m.end(true);
      await b.stop();
    }
  });
});
