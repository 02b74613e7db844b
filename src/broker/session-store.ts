/**
 * Persistent sessions across a graceful restart: at stop, every session that outlives its connection is
 * written to the embedded store (subscriptions, unacknowledged and queued messages, QoS 2 ids awaiting
 * release, expiry deadline); at boot they come back as offline sessions that clients resume.
 */

import { logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { Broker } from './broker.js';
import { NEVER_EXPIRE } from './broker.js';
import { SessionRecord } from './client-registry.js';
import { parseWithBuffers, stringifyWithBuffers } from './json-buffers.js';
import { Message } from './message.js';
import { InflightPhase, Session, type SessionSettings } from './session.js';
import type { ClientInfo, MessageProperties, QoS, SubOpts } from './types.js';

export interface SavedMessage {
  topic: string;
  payload: string;
  qos: QoS;
  from: string;
  retain: boolean;
  props?: string;
  username?: string;
  timestamp: number;
  expiresAt: number;
}

export interface SavedSession {
  clientInfo: Pick<
    ClientInfo,
    'clientid' | 'username' | 'protocol' | 'mountpoint' | 'listener' | 'zone' | 'peerhost'
  >;
  createdAt: number;
  expiryInterval: number;
  /** Epoch ms when the session expires (0 = never). */
  expiresAt: number;
  /** Connected when written: its expiry counts from the restart, since the disconnect time is unknown. */
  online?: boolean;
  receiveMaximum: number;
  subscriptions: Array<[string, SubOpts]>;
  inflight: Array<{
    pid: number;
    qos: 1 | 2;
    phase: number;
    retain: boolean;
    opts: SubOpts;
    msg: SavedMessage;
  }>;
  queue: Array<{ opts: SubOpts; retained: boolean; msg: SavedMessage }>;
  awaitingRel: number[];
}

/** Writes every session that must outlive the process; replaces what was saved before. */
export function saveSessions(broker: Broker, db: Db): number {
  const rows: Array<[string, string, string]> = [];
  const now = Date.now();
  for (const record of broker.registry.records()) {
    if (record.session.expiryInterval === 0) continue;
    rows.push([record.namespace, record.session.clientid, sessionState(record, now, false)]);
  }
  const insert = db.prepare(
    'INSERT INTO sessions (namespace, clientid, state, saved_at) VALUES (?, ?, ?, ?)',
  );
  db.transaction(() => {
    db.exec('DELETE FROM sessions');
    for (const [ns, id, state] of rows) insert.run(ns, id, state, now);
  })();
  return rows.length;
}

/**
 * The stored form of one persistent session (the `state` column). `live` marks a session written while
 * the broker runs, whose connection a crash would end at an unknown time.
 */
export function sessionState(record: SessionRecord, now: number, live: boolean): string {
  const s = record.session;
  const since = record.disconnectedAt ?? now;
  const saved: SavedSession = {
    clientInfo: {
      clientid: s.clientid,
      username: s.clientInfo.username,
      protocol: s.clientInfo.protocol,
      mountpoint: s.clientInfo.mountpoint,
      listener: s.clientInfo.listener,
      zone: s.clientInfo.zone,
      peerhost: s.clientInfo.peerhost,
    },
    createdAt: s.createdAt,
    expiryInterval: s.expiryInterval,
    expiresAt: s.expiryInterval >= NEVER_EXPIRE ? 0 : since + s.expiryInterval * 1000,
    receiveMaximum: s.receiveMaximum,
    subscriptions: [...s.subscriptions],
    inflight: [...s.inflight].map(([pid, e]) => ({
      pid,
      qos: e.qos,
      phase: e.phase,
      retain: e.retain,
      opts: e.opts,
      msg: saveMessage(e.msg),
    })),
    queue: s.mqueue.toArray().map((d) => ({ opts: d.opts, retained: d.retained, msg: saveMessage(d.msg) })),
    awaitingRel: [...s.awaitingRel.keys()],
  };
  if (live && record.channel !== undefined) saved.online = true;
  return JSON.stringify(saved);
}

/**
 * Recreates saved sessions as offline sessions (expired ones are dropped). Without `keepRows` the table is
 * cleared, so a crash later cannot resurrect stale state; with it (durability on) the rows stay and are
 * kept current from here on, so a crash right after boot loses nothing.
 */
export function restoreSessions(
  broker: Broker,
  db: Db,
  settingsFor: (namespace: string) => SessionSettings,
  baseClientInfo: (saved: SavedSession['clientInfo']) => ClientInfo,
  keepRows = false,
): number {
  const rows = db.prepare('SELECT namespace, clientid, state FROM sessions').all() as Array<{
    namespace: string;
    clientid: string;
    state: string;
  }>;
  const now = Date.now();
  let restored = 0;
  for (const row of rows) {
    try {
      const saved = JSON.parse(row.state) as SavedSession;
      const record = restoreSession(
        broker,
        row.namespace,
        saved,
        settingsFor(row.namespace),
        baseClientInfo,
        now,
      );
      if (record === undefined) continue;
      broker.journal?.opened(record, true);
      broker.armExpiry(record);
      restored++;
    } catch (err) {
      logger.error(
        { err, clientid: row.clientid },
        'session store: could not restore a saved session; dropped',
      );
    }
  }
  if (!keepRows) db.exec('DELETE FROM sessions');
  broker.metrics.setStat('sessions', broker.registry.count());
  return restored;
}

/**
 * Puts one saved session into the registry as an offline session with its subscriptions, inflight
 * messages, queue and QoS 2 ids (undefined when it has expired). The caller arms its expiry.
 */
export function restoreSession(
  broker: Broker,
  namespace: string,
  saved: SavedSession,
  settings: SessionSettings,
  baseClientInfo: (saved: SavedSession['clientInfo']) => ClientInfo,
  now = Date.now(),
): SessionRecord | undefined {
  if (saved.online === true && saved.expiresAt !== 0) saved.expiresAt = now + saved.expiryInterval * 1000;
  if (saved.expiresAt !== 0 && saved.expiresAt <= now) return undefined;
  const clientid = saved.clientInfo.clientid;
  const session = new Session(clientid, baseClientInfo(saved.clientInfo), settings, broker);
  session.expiryInterval = saved.expiresAt === 0 ? NEVER_EXPIRE : Math.ceil((saved.expiresAt - now) / 1000);
  session.receiveMaximum = saved.receiveMaximum;
  for (const r of saved.inflight) {
    session.restoreInflight(r.pid, {
      msg: loadMessage(r.msg),
      qos: r.qos,
      opts: r.opts,
      retain: r.retain,
      phase: r.phase === 1 ? InflightPhase.AwaitComp : InflightPhase.AwaitAck,
      sentAt: now,
    });
  }
  for (const q of saved.queue) session.mqueue.push(loadMessage(q.msg), q.opts, q.retained);
  for (const pid of saved.awaitingRel) session.restoreAwaitingRel(pid, now);
  const record = new SessionRecord(namespace, session);
  record.disconnectedAt = now;
  broker.registry.set(namespace, clientid, record);
  for (const [topic, opts] of saved.subscriptions) broker.restoreSubscription(session, topic, opts);
  broker.metrics.setStat('sessions', broker.registry.count());
  return record;
}

/** The ClientInfo of a session that exists without a connection (restored, adopted), from its saved form. */
export function offlineClientInfo(node: string, saved: SavedSession['clientInfo']): ClientInfo {
  return {
    node,
    clientid: saved.clientid,
    username: saved.username,
    peerhost: saved.peerhost,
    peerport: 0,
    sockport: 0,
    protocol: saved.protocol,
    mountpoint: saved.mountpoint,
    listener: saved.listener,
    zone: saved.zone,
    is_superuser: false,
    anonymous: saved.username === undefined,
    is_bridge: false,
    client_attrs: {},
  };
}

export function saveMessage(m: Message): SavedMessage {
  return {
    topic: m.topic,
    payload: m.payload.toString('base64'),
    qos: m.qos,
    from: m.from,
    retain: m.flags.retain,
    props: m.props === undefined ? undefined : stringifyWithBuffers(m.props),
    username: m.headers.username,
    timestamp: m.timestamp,
    expiresAt: m.expiresAt,
  };
}

export function loadMessage(s: SavedMessage): Message {
  const props = s.props === undefined ? undefined : parseWithBuffers<MessageProperties>(s.props);
  const m = new Message(
    s.topic,
    Buffer.from(s.payload, 'base64'),
    s.qos,
    s.from,
    s.retain,
    props,
    { username: s.username },
    s.timestamp,
  );
  m.expiresAt = s.expiresAt;
  return m;
}
