/**
 * Persistent session records in the `sessions` bucket: what a session needs to outlive its node
 * (subscriptions with their options, expiry, the client's identity, last owner). Written on connect,
 * subscribe, unsubscribe and disconnect, only for sessions with an expiry; inflight messages and queues stay
 * in the owner's memory (as EMQX's in-memory sessions). A survivor adopting a dead node's session, or a
 * node resuming a session whose owner does not answer, rebuilds it from here.
 */
import type { KV } from '@nats-io/kv';
import { NEVER_EXPIRE } from '../broker/broker.js';
import type { SessionRecord } from '../broker/client-registry.js';
import type { SavedSession } from '../broker/session-store.js';
import type { SubOpts } from '../broker/types.js';

export interface PersistedSession {
  clientid: string;
  namespace: string;
  /** The node that wrote it last (the session's owner then). */
  node: string;
  expiry_interval: number;
  /** Epoch ms the session lost its connection; 0 while connected. */
  disconnected_at: number;
  created_at: number;
  updated_at: number;
  receive_maximum: number;
  client: SavedSession['clientInfo'];
  subscriptions: Array<[string, SubOpts]>;
}

/** The record of a local session as this node (`node`) writes it. */
export function persistedOf(record: SessionRecord, node: string): PersistedSession {
  const s = record.session;
  const ci = s.clientInfo;
  return {
    clientid: s.clientid,
    namespace: record.namespace,
    node,
    expiry_interval: s.expiryInterval,
    disconnected_at: record.channel === undefined ? (record.disconnectedAt ?? Date.now()) : 0,
    created_at: s.createdAt,
    updated_at: Date.now(),
    receive_maximum: s.receiveMaximum,
    client: {
      clientid: s.clientid,
      username: ci.username,
      protocol: ci.protocol,
      mountpoint: ci.mountpoint,
      listener: ci.listener,
      zone: ci.zone,
      peerhost: ci.peerhost,
    },
    subscriptions: [...s.subscriptions],
  };
}

/**
 * The record as a saved session for `restoreSession`: subscriptions only. A session whose owner died while
 * it was connected counts its expiry from now, as the disconnect time is unknown.
 */
export function savedOf(p: PersistedSession, now = Date.now()): SavedSession {
  const since = p.disconnected_at === 0 ? now : p.disconnected_at;
  return {
    clientInfo: p.client,
    createdAt: p.created_at,
    expiryInterval: p.expiry_interval,
    expiresAt: p.expiry_interval >= NEVER_EXPIRE ? 0 : since + p.expiry_interval * 1000,
    receiveMaximum: p.receive_maximum,
    subscriptions: p.subscriptions,
    inflight: [],
    queue: [],
    awaitingRel: [],
  };
}

/** The `sessions` bucket, with the revision this node wrote last per key (so it never deletes a newer one). */
export class SessionRecords {
  private readonly revisions = new Map<string, number>();

  constructor(private readonly kv: KV) {}

  async write(key: string, record: PersistedSession): Promise<void> {
    this.revisions.set(key, await this.kv.put(key, JSON.stringify(record)));
  }

  /** Deletes the record if it is still the one this node wrote (or, with `force`, whatever is there). */
  async remove(key: string, force = false): Promise<void> {
    const rev = this.revisions.get(key);
    this.revisions.delete(key);
    if (rev === undefined && !force) return;
    try {
      await this.kv.delete(key, force ? undefined : { previousSeq: rev });
    } catch {
      // Another node wrote it since: the record is theirs now.
    }
  }

  async read(key: string): Promise<PersistedSession | undefined> {
    const e = await this.kv.get(key);
    if (e === null || e.operation !== 'PUT') return undefined;
    return e.json<PersistedSession>();
  }
}
