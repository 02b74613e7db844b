/**
 * What each durability mode writes and when, read back from the store file through a second SQLite
 * connection, as a crash would find it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { readRetainedLog } from '../../src/store/retained-log.js';
import { startBroker } from '../helpers/broker.js';
import { connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

/** Reads the store as another process would see it after a crash at this instant. */
function peek<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dataDir, 'hermod.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

function storedSession(dataDir: string, clientid: string): string | undefined {
  return peek<{ state: string }>(dataDir, 'SELECT state FROM sessions WHERE clientid = ?', clientid)[0]
    ?.state;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('durability sync (the default)', () => {
  it('has the queued message and the retained message on disk when PUBACK arrives', async () => {
    const b = await startBroker({ tempDataDir: true });
    try {
      const dir = b.dataDir!;
      const sub = await connectClient(b.port, { clientId: 'd-sub', clean: false });
      await subscribe(sub, 'd/#', { qos: 1 });
      await end(sub);
      const pub = await connectClient(b.port);
      await publish(pub, 'd/1', 'queued-one', { qos: 1 });
      // Nothing else ran between the PUBACK and this read: the commit came before the ack.
      assert.match(storedSession(dir, 'd-sub') ?? '', new RegExp(b64('queued-one')));
      await publish(pub, 'kept/1', 'retained-one', { qos: 1, retain: true });
      const kept = readRetainedLog(join(dir, 'retained')).get('kept/1');
      assert.equal(kept?.payload.toString(), 'retained-one');
      await end(pub);
    } finally {
      await b.stop();
    }
  });

  it('stores a QoS 2 publisher session and forgets its packet id once PUBREL is handled', async () => {
    const b = await startBroker({ tempDataDir: true });
    try {
      const pub = await connectClient(b.port, { clientId: 'd-q2', clean: false });
      await publish(pub, 'x/2', 'two', { qos: 2 });
      const awaiting = () =>
        (JSON.parse(storedSession(b.dataDir!, 'd-q2') ?? '{}') as { awaitingRel?: number[] }).awaitingRel;
      // PUBCOMP has arrived, so the broker handled PUBREL; its commit follows at the end of that turn.
      for (let i = 0; i < 50 && awaiting()?.length !== 0; i++) await sleep(20);
      assert.deepEqual(awaiting(), []);
      await end(pub);
    } finally {
      await b.stop();
    }
  });

  it('removes a stored session once it ends, and never stores a clean one', async () => {
    const b = await startBroker({ tempDataDir: true });
    try {
      const dir = b.dataDir!;
      const c1 = await connectClient(b.port, { clientId: 'd-gone', clean: false });
      await subscribe(c1, 'g/#', { qos: 1 });
      await end(c1);
      assert.ok(storedSession(dir, 'd-gone') !== undefined);
      const clean = await connectClient(b.port, { clientId: 'd-gone', clean: true });
      await subscribe(clean, 'g/#', { qos: 1 });
      // The discard is committed at the end of the turn that handled CONNECT; SUBACK came later.
      assert.equal(storedSession(dir, 'd-gone'), undefined);
      await end(clean);
    } finally {
      await b.stop();
    }
  });
});

describe('durability: a clean session taken over as persistent', () => {
  it('stores the session once a clean-session-0 login takes over the clean one', async () => {
    const b = await startBroker({ tempDataDir: true });
    try {
      const dir = b.dataDir!;
      // Opened clean, the session is not journalled; the takeover by a persistent login must journal it.
      const clean = await connectClient(b.port, { clientId: 'd-up', clean: true });
      const kept = await connectClient(b.port, { clientId: 'd-up', clean: false });
      await subscribe(kept, 'up/#', { qos: 1 });
      assert.match(storedSession(dir, 'd-up') ?? '', /up\/#/);
      await end(kept);
      clean.end(true);
    } finally {
      await b.stop();
    }
  });
});

describe('durability off', () => {
  it('writes sessions only at graceful stop', async () => {
    const b = await startBroker({ tempDataDir: true, config: { durability: { mode: 'off' } } });
    const dir = b.dataDir!;
    try {
      const sub = await connectClient(b.port, { clientId: 'o-sub', clean: false });
      await subscribe(sub, 'o/#', { qos: 1 });
      await end(sub);
      const pub = await connectClient(b.port);
      await publish(pub, 'o/1', 'queued', { qos: 1 });
      await end(pub);
      assert.equal(storedSession(dir, 'o-sub'), undefined);
      await b.node.stop();
      assert.match(storedSession(dir, 'o-sub') ?? '', new RegExp(b64('queued')));
    } finally {
      await b.stop();
    }
  });
});

describe('durability periodic', () => {
  it('writes changed sessions at the next checkpoint without holding acks', async () => {
    const b = await startBroker({
      tempDataDir: true,
      config: { durability: { mode: 'periodic', checkpoint_interval: '100ms' } },
    });
    const dir = b.dataDir!;
    try {
      const sub = await connectClient(b.port, { clientId: 'p-sub', clean: false });
      await subscribe(sub, 'p/#', { qos: 1 });
      await end(sub);
      const pub = await connectClient(b.port);
      await publish(pub, 'p/1', 'checkpointed', { qos: 1 });
      await end(pub);
      const want = new RegExp(b64('checkpointed'));
      for (let i = 0; i < 100 && !want.test(storedSession(dir, 'p-sub') ?? ''); i++) await sleep(20);
      assert.match(storedSession(dir, 'p-sub') ?? '', want);
    } finally {
      await b.stop();
    }
  });
});
