/**
 * Shared subscription groups ($share/<group>/<filter>, $queue/<filter>): each message goes to one member,
 * picked by the configured strategy. Connected members are preferred; an offline member (persistent
 * session) is only picked when nobody in the group is online, so its queue keeps the message.
 */
import type { Message } from './message.js';
import type { Session } from './session.js';
import type { SubOpts } from './types.js';

export type SharedStrategy =
  | 'random'
  | 'round_robin'
  | 'round_robin_per_group'
  | 'sticky'
  | 'local'
  | 'hash_topic'
  | 'hash_clientid';

export interface SharedMember {
  session: Session;
  opts: SubOpts;
}

export class SharedGroup {
  readonly members: SharedMember[] = [];
  private cursor = 0;
  private sticky: Session | undefined;

  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}

  get size(): number {
    return this.members.length;
  }

  /** Adds or updates a member; returns true when it is new. */
  upsert(session: Session, opts: SubOpts): boolean {
    const m = this.members.find((x) => x.session === session);
    if (m) {
      m.opts = opts;
      return false;
    }
    this.members.push({ session, opts });
    return true;
  }

  remove(session: Session): boolean {
    const i = this.members.findIndex((x) => x.session === session);
    if (i < 0) return false;
    this.members.splice(i, 1);
    if (this.sticky === session) this.sticky = undefined;
    return true;
  }

  /** Picks the member that gets `msg`, skipping `exclude` (a member that is leaving). */
  pick(
    msg: Message,
    strategy: SharedStrategy,
    initialSticky: SharedStrategy,
    exclude?: Session,
  ): SharedMember | undefined {
    const n = this.members.length;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = this.members[0]!;
      return only.session === exclude ? undefined : only;
    }
    switch (strategy) {
      case 'sticky': {
        const s = this.sticky;
        if (s !== undefined && s !== exclude && s.connected) {
          const m = this.members.find((x) => x.session === s);
          if (m) return m;
        }
        const first = this.pick(
          msg,
          initialSticky === 'sticky' ? 'random' : initialSticky,
          'random',
          exclude,
        );
        this.sticky = first?.session;
        return first;
      }
      case 'round_robin':
      case 'round_robin_per_group':
        return this.scan(this.cursor++ % n, exclude);
      case 'hash_topic':
        return this.scan(hash(msg.topic) % n, exclude);
      case 'hash_clientid':
        return this.scan(hash(msg.from) % n, exclude);
      default:
        return this.scan(Math.floor(Math.random() * n), exclude);
    }
  }

  /** From index `start`, the first connected member (not `exclude`); else the first eligible offline one. */
  private scan(start: number, exclude: Session | undefined): SharedMember | undefined {
    const n = this.members.length;
    let fallback: SharedMember | undefined;
    for (let k = 0; k < n; k++) {
      const m = this.members[(start + k) % n]!;
      if (m.session === exclude) continue;
      if (m.session.connected) return m;
      fallback ??= m;
    }
    return fallback;
  }
}

/** A fast, stable string hash (FNV-1a), for the hash strategies (here and across cluster nodes). */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
