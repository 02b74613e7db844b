/**
 * `/clients/:clientid/mqueue_messages` and `/inflight_messages`: cursor pagination by `position` (the key of
 * the last message seen) and `limit`, payloads base64 / plain / none, capped by max_payload_bytes.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { SessionRecord } from '../../broker/client-registry.js';
import type { Message } from '../../broker/message.js';
import { parseByteSize } from '../../config/units.js';
import { badRequest } from '../errors.js';
import { MAX_LIMIT } from '../pagination.js';

export const MessagesQuery = Type.Object({
  payload: Type.Union([Type.Literal('base64'), Type.Literal('plain'), Type.Literal('none')], {
    default: 'base64',
  }),
  max_payload_bytes: Type.Union([Type.String(), Type.Integer()], { default: '1MB' }),
  position: Type.Optional(
    Type.String({ description: 'Key of the last message already seen ("none" for the start)' }),
  ),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 100 }),
});

interface Item {
  key: string;
  msg: Message;
  extra: Record<string, unknown>;
}

/** Mqueue positions carry a priority part as EMQX's (`<seq>_<priority>`); Hermod's queue has one priority. */
function items(r: SessionRecord, kind: 'mqueue' | 'inflight'): Item[] {
  const s = r.session;
  if (kind === 'mqueue') {
    return s.mqueue.toArray().map((d) => ({
      key: `${d.msg.seq}_0`,
      msg: d.msg,
      extra: { mqueue_priority: 0, inserted_at: String(d.msg.timestamp) },
    }));
  }
  return [...s.inflight.values()].map((e) => ({
    key: String(e.msg.seq),
    msg: e.msg,
    extra: { inserted_at: String(e.sentAt) },
  }));
}

function seqOf(key: string): number {
  const n = Number(key.split('_')[0]);
  if (!Number.isInteger(n)) throw badRequest('position_limit_invalid', 'INVALID_PARAMETER');
  return n;
}

/** One page of a client's queued or inflight messages. */
export function messagesPage(r: SessionRecord, kind: 'mqueue' | 'inflight', q: Static<typeof MessagesQuery>) {
  const maxBytes = parseByteSize(q.max_payload_bytes);
  if (maxBytes === undefined || maxBytes <= 0)
    throw badRequest('max_payload_bytes must be higher than 0', 'INVALID_PARAMETER');
  let all = items(r, kind);
  if (q.position !== undefined && q.position !== 'none') {
    // Resume after the last message seen; if it has left the queue since, after anything older than it.
    const at = all.findIndex((i) => i.key === q.position);
    const seq = seqOf(q.position);
    all = at >= 0 ? all.slice(at + 1) : all.filter((i) => i.msg.seq > seq);
  }
  const page: Array<Record<string, unknown>> = [];
  let bytes = 0;
  for (const it of all) {
    if (page.length >= q.limit) break;
    const payload =
      q.payload === 'none'
        ? undefined
        : q.payload === 'plain'
          ? it.msg.payload.toString('utf8')
          : it.msg.payload.toString('base64');
    const size = payload?.length ?? 0;
    // At least one message is always returned, whatever its size (as EMQX).
    if (page.length > 0 && bytes + size > maxBytes) break;
    bytes += size;
    page.push({
      msgid: it.msg.id,
      topic: it.msg.topic,
      qos: it.msg.qos,
      publish_at: it.msg.timestamp,
      from_clientid: it.msg.from,
      from_username: it.msg.headers.username ?? '',
      ...(payload !== undefined ? { payload } : {}),
      ...it.extra,
      _key: it.key,
    });
  }
  const keys = page.map((p) => p._key as string);
  for (const p of page) delete p._key;
  return {
    data: page,
    meta: { start: keys[0] ?? 'none', position: keys[keys.length - 1] ?? q.position ?? 'none' },
  };
}
