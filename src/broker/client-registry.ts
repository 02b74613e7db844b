/**
 * The client registry: live and offline sessions keyed by (namespace, clientid). The namespace is 'mqtt'
 * or a gateway's name, so one client id may live once in each. Opening a session for a key that is in use
 * closes the old connection and, by clean start, takes its session over or discards it.
 */
import type { Session } from './session.js';
import type { ClientInfo, ConnInfo } from './types.js';

/** Why the broker closes a channel. */
export type KickReason = 'takenover' | 'discarded' | 'kicked' | 'shutdown' | 'expired';

/** What the registry needs from a connected channel of any protocol. */
export interface LiveChannel {
  readonly clientInfo: ClientInfo;
  readonly connInfo: ConnInfo;
  /**
   * Closes the connection for `reason` (MQTT 5 sends DISCONNECT 0x8E for takeover/discard, 0x98 for kick,
   * 0x8B for shutdown). Must detach from the session synchronously and not call back into the registry.
   */
  kick(reason: KickReason): void;
}

export class SessionRecord {
  channel: LiveChannel | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  /** A will waiting for its Will Delay Interval; cancelled if the client comes back first. */
  pendingWill: { timer: NodeJS.Timeout; publish: () => void } | undefined;
  /** Epoch ms when the session lost its connection (for the API). */
  disconnectedAt: number | undefined;

  constructor(
    readonly namespace: string,
    readonly session: Session,
  ) {}
}

export class ClientRegistry {
  private readonly spaces = new Map<string, Map<string, SessionRecord>>();

  /** The record of a client id in a namespace. */
  get(namespace: string, clientid: string): SessionRecord | undefined {
    return this.spaces.get(namespace)?.get(clientid);
  }

  /**
   * The record whose session serves `clientInfo` now, in whichever namespace: the session of a client id
   * points at the ClientInfo of its current connection, so no table keyed by ClientInfo is needed (the
   * WeakMap this replaces cost ~33 B per connection and an ephemeron for every scavenge to trace).
   */
  ofClient(clientInfo: ClientInfo): SessionRecord | undefined {
    for (const space of this.spaces.values()) {
      const record = space.get(clientInfo.clientid);
      if (record !== undefined && record.session.clientInfo === clientInfo) return record;
    }
    return undefined;
  }

  set(namespace: string, clientid: string, record: SessionRecord): void {
    let space = this.spaces.get(namespace);
    if (space === undefined) {
      space = new Map();
      this.spaces.set(namespace, space);
    }
    space.set(clientid, record);
  }

  delete(namespace: string, record: SessionRecord): void {
    const space = this.spaces.get(namespace);
    if (space?.get(record.session.clientid) === record) space.delete(record.session.clientid);
  }

  /** Every record of a namespace (or of all namespaces). */
  *records(namespace?: string): IterableIterator<SessionRecord> {
    if (namespace !== undefined) {
      const space = this.spaces.get(namespace);
      if (space) yield* space.values();
      return;
    }
    for (const space of this.spaces.values()) yield* space.values();
  }

  /** Sessions in a namespace (connected or not). */
  count(namespace?: string): number {
    if (namespace !== undefined) return this.spaces.get(namespace)?.size ?? 0;
    let n = 0;
    for (const s of this.spaces.values()) n += s.size;
    return n;
  }

  /** Connected clients in a namespace (or all). */
  liveCount(namespace?: string): number {
    let n = 0;
    for (const r of this.records(namespace)) if (r.channel !== undefined) n++;
    return n;
  }
}
