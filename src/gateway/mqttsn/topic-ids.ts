/**
 * A client's topic id table (EMQX calls it `emqx_mqttsn_registry`): names registered by REGISTER, SUBSCRIBE or the
 * gateway itself get ids from 1025 up to 0xFFFF; predefined ids come from the gateway config and are the
 * same for every client. Wildcard names cannot be registered.
 */
import { isWildcard } from '../../broker/topic.js';

/** First id handed out to a registered name (EMQX: 1024 + 1, above the predefined range). */
export const FIRST_TOPIC_ID = 1025;
export const MAX_TOPIC_ID = 0xffff;

/** The gateway's predefined topics, both ways. */
export class PredefinedTopics {
  readonly byId = new Map<number, string>();
  readonly byName = new Map<string, number>();

  constructor(entries: ReadonlyArray<{ id: number; topic: string }>) {
    for (const e of entries) {
      this.byId.set(e.id, e.topic);
      this.byName.set(e.topic, e.id);
    }
  }
}

/** Why a name got no id. */
export type RegisterError = 'wildcard_topic' | 'too_large';

/** One client's topic name ↔ id table. */
export class TopicIdTable {
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private next = FIRST_TOPIC_ID;

  constructor(readonly predefined: PredefinedTopics) {}

  /** The id of `name` (predefined first), registering it when new. */
  register(name: string): number | RegisterError {
    if (isWildcard(name)) return 'wildcard_topic';
    const pre = this.predefined.byName.get(name);
    if (pre !== undefined) return pre;
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    // Predefined ids may lie above 1024 (the docs allow up to 65535): never hand one out twice.
    while (this.next <= MAX_TOPIC_ID && this.predefined.byId.has(this.next)) this.next++;
    if (this.next > MAX_TOPIC_ID) return 'too_large';
    const id = this.next++;
    this.ids.set(name, id);
    this.names.set(id, name);
    return id;
  }

  /** The name registered under an id (predefined ids are not looked up here). */
  lookup(id: number): string | undefined {
    return this.names.get(id);
  }

  /** The registered id of a name, without registering. */
  idOf(name: string): number | undefined {
    return this.ids.get(name);
  }

  /** Forgets a registered name (the client refused or lost it); its id is not reused. */
  forget(name: string): void {
    const id = this.ids.get(name);
    if (id === undefined) return;
    this.ids.delete(name);
    this.names.delete(id);
  }
}
