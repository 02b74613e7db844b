/**
 * `POST /publish` and `/publish/bulk`: publish as the broker would for a client. 200 `{id}` when somebody
 * got it, 202 `{reason_code: 16}` when nobody subscribed, 400 `{reason_code, message}` for a bad topic or a
 * message above mqtt.max_packet_size (EMQX's reason codes).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Message } from '../../broker/message.js';
import { topicNameError } from '../../broker/topic.js';
import type { MessageProperties, QoS } from '../../broker/types.js';
import type { Api, MgmtPlane } from '../types.js';

const Properties = Type.Object({
  payload_format_indicator: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })),
  message_expiry_interval: Type.Optional(Type.Integer({ minimum: 0 })),
  response_topic: Type.Optional(Type.String()),
  correlation_data: Type.Optional(Type.String()),
  user_properties: Type.Optional(Type.Record(Type.String(), Type.String())),
  content_type: Type.Optional(Type.String()),
});
const PublishBody = Type.Object({
  topic: Type.String(),
  payload: Type.String(),
  qos: Type.Integer({ minimum: 0, maximum: 2, default: 0 }),
  clientid: Type.Optional(Type.String()),
  payload_encoding: Type.Union([Type.Literal('plain'), Type.Literal('base64')], { default: 'plain' }),
  retain: Type.Boolean({ default: false }),
  properties: Type.Optional(Properties),
});
type Body = Static<typeof PublishBody>;

const RC_NO_MATCHING_SUBSCRIBERS = 16;
const RC_IMPLEMENTATION_SPECIFIC_ERROR = 131;
const RC_TOPIC_NAME_INVALID = 144;
const RC_QUOTA_EXCEEDED = 151;

type Rejected = { reason_code: number; message: string };

function toProps(p: Static<typeof Properties> | undefined): MessageProperties | undefined {
  if (p === undefined) return undefined;
  const out: MessageProperties = {};
  if (p.payload_format_indicator !== undefined) out.payloadFormatIndicator = p.payload_format_indicator;
  if (p.message_expiry_interval !== undefined) out.messageExpiryInterval = p.message_expiry_interval;
  if (p.response_topic !== undefined) out.responseTopic = p.response_topic;
  if (p.correlation_data !== undefined) out.correlationData = Buffer.from(p.correlation_data);
  if (p.user_properties !== undefined) out.userProperties = Object.entries(p.user_properties);
  if (p.content_type !== undefined) out.contentType = p.content_type;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Builds the message, or says why it is refused. */
function toMessage(ctx: MgmtPlane, b: Body): Message | Rejected {
  if (topicNameError(b.topic) !== undefined)
    return { reason_code: RC_TOPIC_NAME_INVALID, message: 'topic_name_invalid' };
  let payload: Buffer;
  if (b.payload_encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload))
      return { reason_code: RC_IMPLEMENTATION_SPECIFIC_ERROR, message: 'decode_base64_payload_failed' };
    payload = Buffer.from(b.payload, 'base64');
  } else payload = Buffer.from(b.payload, 'utf8');
  if (payload.length + Buffer.byteLength(b.topic) > ctx.node.config.mqtt.max_packet_size)
    return { reason_code: RC_QUOTA_EXCEEDED, message: 'packet_too_large' };
  return new Message(
    b.topic,
    payload,
    b.qos as QoS,
    b.clientid ?? 'http_api',
    b.retain,
    toProps(b.properties),
    {
      protocol: 'http',
    },
  );
}

async function publishOne(ctx: MgmtPlane, msg: Message): Promise<[number, Record<string, unknown>]> {
  const n = await ctx.node.broker.publish(msg);
  if (n > 0) return [200, { id: msg.id }];
  return [202, { reason_code: RC_NO_MATCHING_SUBSCRIBERS, message: 'no_matching_subscribers' }];
}

export function publishArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Publish'];
  app.post(
    '/publish',
    { schema: { tags, summary: 'Publish a message', body: PublishBody } },
    async (req, reply) => {
      const msg = toMessage(ctx, req.body);
      if (!(msg instanceof Message)) return reply.code(400).send(msg);
      const [code, body] = await publishOne(ctx, msg);
      return reply.code(code).send(body);
    },
  );
  app.post(
    '/publish/bulk',
    { schema: { tags, summary: 'Publish several messages', body: Type.Array(PublishBody, { minItems: 1 }) } },
    async (req, reply) => {
      // Like EMQX, one bad message refuses the whole batch before anything is published.
      const msgs: Message[] = [];
      for (const b of req.body) {
        const m = toMessage(ctx, b);
        if (!(m instanceof Message)) return reply.code(400).send(m);
        msgs.push(m);
      }
      const results = [];
      for (const m of msgs) results.push(await publishOne(ctx, m));
      const code = results.every(([c]) => c === 200) ? 200 : 202;
      return reply.code(code).send(results.map(([, b]) => b));
    },
  );
}
