/**
 * The per-connection authorization cache (EMQX `authorization.cache`): the last decisions for
 * (action, qos, retain, topic), bounded in size and age.
 */
import { topicMatches } from '../broker/topic.js';
import type { AuthzAction } from '../broker/types.js';

export interface AuthzCacheSettings {
  enable: boolean;
  maxSize: number;
  /** ms */
  ttl: number;
  /** Topic filters whose decisions are never cached (authorization.cache.excludes). */
  excludes?: readonly string[];
}

export class AuthzCache {
  // Map keeps insertion order: the first key is the oldest, which is what gets evicted. Created on the first
  // decision: an empty Map is ~180 B of heap, and most idle connections are never authorized for anything.
  private entries: Map<string, { allow: boolean; at: number }> | undefined;

  constructor(private readonly settings: AuthzCacheSettings) {}

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** The cached decision, or undefined on a miss or an expired entry. */
  get(action: AuthzAction, topic: string, now: number): boolean | undefined {
    if (!this.settings.enable || this.entries === undefined) return undefined;
    const key = keyOf(action, topic);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (now - e.at >= this.settings.ttl) {
      this.entries.delete(key);
      return undefined;
    }
    return e.allow;
  }

  set(action: AuthzAction, topic: string, allow: boolean, now: number): void {
    if (!this.settings.enable) return;
    const ex = this.settings.excludes;
    if (ex !== undefined && ex.length > 0 && ex.some((f) => topicMatches(f, topic))) return;
    const key = keyOf(action, topic);
    const entries = (this.entries ??= new Map());
    entries.delete(key);
    entries.set(key, { allow, at: now });
    while (entries.size > this.settings.maxSize) {
      entries.delete(entries.keys().next().value!);
    }
  }

  clear(): void {
    this.entries?.clear();
  }

  /** Cached entries for the API: [{access, topic, result, updated_time}]. */
  list(): Array<{ access: string; topic: string; result: 'allow' | 'deny'; updated_time: number }> {
    return [...(this.entries ?? [])].map(([k, e]) => {
      const [access, , , topic] = k.split('\u0000');
      return { access: access!, topic: topic!, result: e.allow ? 'allow' : 'deny', updated_time: e.at };
    });
  }
}

function keyOf(a: AuthzAction, topic: string): string {
  return `${a.action_type}\u0000${a.qos}\u0000${a.retain === true ? 1 : 0}\u0000${topic}`;
}
