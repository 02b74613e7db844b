/**
 * What differs for a server built from EMQX 4.x's proto (emqx.exhook.v1) beyond the .proto file itself:
 * the hook names it asks for, and the request fields whose shape changed in v2 (topic filters carried qos
 * directly; a shared subscription's group travelled in SubOpts.share instead of the topic).
 */
import type { ExhookPoint, PbRequest, PbSubOpts, PbTopicFilter } from './wire.js';

/** The v1 hook names that v2/v3 renamed. */
const V1_HOOK_NAMES: Readonly<Record<string, ExhookPoint>> = {
  'client.check_acl': 'client.authorize',
  'session.takeovered': 'session.takenover',
};

/** The v2/v3 name of a hook name returned by a v1 server (other names are the same in every version). */
export function fromV1HookName(name: string): string {
  return Object.hasOwn(V1_HOOK_NAMES, name) ? V1_HOOK_NAMES[name]! : name;
}

const SHARED = /^\$share\/([^/]+)\/(.+)$/;

/** A request (built in v2/v3 shape) reshaped where v1 differs; fields v1 lacks are dropped by its encoder. */
export function toV1Request(point: ExhookPoint, body: PbRequest): PbRequest {
  switch (point) {
    case 'client.subscribe':
    case 'client.unsubscribe': {
      const filters = body.topic_filters as PbTopicFilter[] | undefined;
      if (filters === undefined) return body;
      return { ...body, topic_filters: filters.map((f) => ({ name: f.name, qos: f.subopts.qos })) };
    }
    case 'session.subscribed':
    case 'session.unsubscribed': {
      const m = SHARED.exec(String(body.topic ?? ''));
      if (m === null) return body;
      const subopts = body.subopts as PbSubOpts | undefined;
      const out: PbRequest = { ...body, topic: m[2] };
      if (subopts !== undefined) out.subopts = { ...subopts, share: m[1] };
      return out;
    }
    default:
      return body;
  }
}
