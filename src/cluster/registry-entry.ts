/**
 * The registry's key and value formats, and what takeover and adoption use of the registry (RegistryCore),
 * apart from registry.ts so those modules do not import the part that builds them.
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { SessionRecord } from '../broker/client-registry.js';
import type { ClaimRequest, ClusterWill } from '../broker/cluster-seam.js';
import { stringifyWithBuffers } from '../broker/json-buffers.js';
import type { Message } from '../broker/message.js';
import { loadMessage, type SavedMessage } from '../broker/session-store.js';
import type { PersistedSession, SessionRecords } from './sessions.js';
import { kvKey } from './subject.js';

export type EntryState = 'connected' | 'offline' | 'taking_over';

/** A will as the registry keeps it: the message in its stored form, plus the Will Delay Interval. */
export interface SavedWill {
  msg: SavedMessage;
  /** Will Delay Interval, seconds. */
  delay: number;
  /** Message Expiry Interval of the will, seconds (0: none), counted from its publication. */
  expiry: number;
}

/** The value of a registry key. */
export interface RegistryEntry {
  clientid: string;
  namespace: string;
  node: string;
  /** The owner's incarnation: tells its entries from those of its previous life. */
  incarnation: string;
  state: EntryState;
  /** Epoch ms of the owning connection (newest wins a conflict after a partition). */
  connected_at: number;
  /** Epoch ms of the last claim (a stale `taking_over` is a claimer that died). */
  claimed_at: number;
  expiry_interval: number;
  /** The will of the connected client, published by a survivor if its node dies. */
  will?: SavedWill;
  /** Set on a session a survivor adopted from a dead node. */
  adopted_from?: string;
  /** While `taking_over`: the node the session comes from. */
  from?: string;
}

/** The registry key of a client: readable when short, a hash for long client ids (a key is a subject). */
export function registryKey(namespace: string, clientid: string): string {
  const key = kvKey(`${namespace}/${clientid}`);
  return key.length <= 256
    ? key
    : `h.${createHash('sha256').update(`${namespace}/${clientid}`).digest('base64url')}`;
}

/** True for the JetStream error of a compare-and-set that lost (the key changed or exists). */
export function lostRace(err: unknown): boolean {
  return /wrong last sequence|key exists/i.test((err as Error).message ?? '');
}

export function savedWill(w: ClusterWill, clientid: string): SavedWill {
  const { willDelayInterval, ...props } = w.properties ?? {};
  return {
    msg: {
      topic: w.topic,
      payload: w.payload.toString('base64'),
      qos: w.qos,
      from: clientid,
      retain: w.retain,
      props: Object.keys(props).length > 0 ? stringifyWithBuffers(props) : undefined,
      timestamp: 0,
      expiresAt: 0,
    },
    delay: willDelayInterval ?? 0,
    expiry: props.messageExpiryInterval ?? 0,
  };
}

/** The will as a message published now. */
export function willMessage(w: SavedWill): Message {
  const now = Date.now();
  return loadMessage({ ...w.msg, timestamp: now, expiresAt: w.expiry > 0 ? now + w.expiry * 1000 : 0 });
}

/** What takeover and adoption need of the registry. */
export interface RegistryCore {
  readonly kv: KV;
  readonly records: SessionRecords;
  /** This node's incarnation (membership). */
  readonly incarnation: string;
  /** Writes `entry` if the key is still at revision `base` (0: absent); undefined when another write won. */
  write(key: string, entry: RegistryEntry, base: number): Promise<number | undefined>;
  /** Forgets this node's write of `key` (the session moved elsewhere). */
  disown(key: string): void;
  /** Runs `fn` after every earlier registry job of `key` on this node. */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Puts a persisted session into the local registry as an offline session (undefined when expired). */
  install(p: PersistedSession, settings: ClaimRequest['settings']): SessionRecord | undefined;
}
