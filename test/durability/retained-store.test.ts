/**
 * Retained messages under periodic durability: what a checkpoint leaves in the retained log (read from the
 * files, as a crash would find them), and what a restart on that log delivers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRetainedLog } from '../../src/store/retained-log.js';
import { startBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

const TOPICS = 101;

interface Row {
  topic: string;
  payload: Buffer;
  qos: number;
  props: string | null;
  from_clientid: string;
  from_username: string | null;
  expires_at: number;
}

function rows(dataDir: string): Row[] {
  return [...readRetainedLog(join(dataDir, 'retained')).values()].map((r) => ({
    topic: r.topic,
    payload: r.payload,
    qos: r.qos,
    props: r.props,
    from_clientid: r.from,
    from_username: r.username,
    expires_at: r.expiresAt,
  }));
}

const periodic = { durability: { mode: 'periodic', checkpoint_interval: '100ms' } };

describe('retained messages on disk (durability periodic)', () => {
  it('a checkpoint stores every set, replace and clear; a restart delivers them as published', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermod-retained-store-'));
    try {
      let b = await startBroker({ dataDir: dir, config: periodic });
      try {
        const pub = await connectClient(b.port, {
          protocolVersion: 5,
          clientId: 'rs-pub',
          username: 'alice',
        });
        for (let i = 0; i < TOPICS; i++) {
          const properties =
            i % 3 === 0
              ? { userProperties: { k: `u${i}` }, contentType: 'text/plain' }
              : i % 5 === 0
                ? { messageExpiryInterval: 3600 }
                : undefined;
          await publish(pub, `rs/${i}`, `v${i}`, {
            qos: (i % 2) as 0 | 1,
            retain: true,
            ...(properties === undefined ? {} : { properties }),
          });
        }
        await publish(pub, 'rs/1', 'again', { qos: 1, retain: true });
        await publish(pub, 'rs/2', '', { qos: 1, retain: true });
        await end(pub);

        // The checkpoint, not the stop: the file holds the final set while the broker still runs.
        const done = (r: Row[]) =>
          r.length === TOPICS - 1 && r.find((x) => x.topic === 'rs/1')?.payload.toString() === 'again';
        for (let k = 0; k < 100 && !done(rows(dir)); k++) await sleep(20);
        const stored = rows(dir);
        assert.equal(stored.length, TOPICS - 1);
        assert.equal(
          stored.find((x) => x.topic === 'rs/2'),
          undefined,
        );
        const byTopic = new Map(stored.map((x) => [x.topic, x]));
        assert.equal(byTopic.get('rs/1')?.payload.toString(), 'again');
        assert.equal(byTopic.get('rs/1')?.qos, 1);
        assert.equal(byTopic.get('rs/100')?.payload.toString(), 'v100');
        assert.equal(byTopic.get('rs/100')?.qos, 0);
        assert.equal(byTopic.get('rs/99')?.from_username, 'alice');
        assert.equal(byTopic.get('rs/99')?.from_clientid, 'rs-pub');
        assert.match(byTopic.get('rs/99')?.props ?? '', /u99/);
        assert.ok((byTopic.get('rs/5')?.expires_at ?? 0) > Date.now());
        assert.equal(byTopic.get('rs/7')?.expires_at, 0);
      } finally {
        await b.node.stop();
      }

      b = await startBroker({ dataDir: dir, config: periodic });
      try {
        const sub = await connectClient(b.port, { protocolVersion: 5 });
        const got = collect(sub);
        await subscribe(sub, 'rs/#', { qos: 1 });
        const msgs = await got.next(TOPICS - 1);
        await sleep(100);
        assert.equal(got.messages.length, TOPICS - 1);
        const byTopic = new Map(msgs.map((m) => [m.topic, m]));
        assert.equal(byTopic.has('rs/2'), false);
        assert.equal(byTopic.get('rs/1')?.payload.toString(), 'again');
        for (let i = 3; i < TOPICS; i++) {
          const m = byTopic.get(`rs/${i}`);
          assert.equal(m?.payload.toString(), `v${i}`, `rs/${i}`);
          assert.equal(m.packet.retain, true);
          const props = m.packet.properties;
          if (i % 3 === 0) {
            assert.equal(props?.userProperties?.k, `u${i}`);
            assert.equal(props?.contentType, 'text/plain');
          } else if (i % 5 === 0) {
            const left = props?.messageExpiryInterval ?? 0;
            assert.ok(left > 3500 && left <= 3600, `rs/${i}: expiry ${left}`);
          } else assert.equal(props?.messageExpiryInterval, undefined);
        }
        await end(sub);
      } finally {
        await b.node.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
