/** `/banned`: list, create, clear, and delete one ban by `/banned/:as/:who`. */
import { Type } from '@sinclair/typebox';
import { BAN_KINDS, type Ban, BanError, type BanKind } from '../../broker/banned.js';
import { ApiError, badRequest, ErrorBody, NoContent } from '../errors.js';
import { parseTime, rfc3339, rfc3339OrInfinity } from '../format.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';

const As = Type.Union(BAN_KINDS.map((k) => Type.Literal(k)));
const Time = Type.Union([Type.String(), Type.Integer()]);
const BanBody = Type.Object({
  as: As,
  who: Type.String({ minLength: 1 }),
  by: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  at: Type.Optional(Time),
  until: Type.Optional(Time),
});
const BanView = Type.Object({
  as: Type.String(),
  who: Type.String(),
  by: Type.String(),
  reason: Type.String(),
  at: Type.String(),
  until: Type.String(),
});

function format(b: Ban) {
  return {
    as: b.as,
    who: b.who,
    by: b.by,
    reason: b.reason,
    at: rfc3339(b.at),
    until: rfc3339OrInfinity(b.until),
  };
}

/** Ban times are epoch seconds or RFC 3339; until may also be "infinity". */
function time(v: string | number | undefined, field: string): number | undefined {
  if (v === undefined || v === 'infinity') return undefined;
  const t = parseTime(v, 's');
  if (t === undefined)
    throw badRequest(`body/${field} must be epoch seconds, an RFC 3339 time or "infinity"`);
  return t;
}

export function bannedArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Banned'];
  app.get(
    '/banned',
    {
      schema: {
        tags,
        summary: 'List bans',
        querystring: Type.Object({
          ...PageQuery,
          clientid: Type.Optional(Type.String()),
          username: Type.Optional(Type.String()),
          peerhost: Type.Optional(Type.String()),
          like_clientid: Type.Optional(Type.String()),
          like_username: Type.Optional(Type.String()),
          like_peerhost: Type.Optional(Type.String()),
          like_peerhost_net: Type.Optional(Type.String()),
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const exact: Array<[BanKind, string | undefined]> = [
        ['clientid', q.clientid],
        ['username', q.username],
        ['peerhost', q.peerhost],
      ];
      const like: Array<[BanKind[], string | undefined]> = [
        [['clientid', 'clientid_re'], q.like_clientid],
        [['username', 'username_re'], q.like_username],
        [['peerhost'], q.like_peerhost],
        [['peerhost_net'], q.like_peerhost_net],
      ];
      const given = [...exact, ...like].filter(([, v]) => v !== undefined);
      // EMQX: filters exclude each other, so at most one makes sense.
      if (given.length > 1) throw badRequest('too_many_filters');
      let bans = ctx.banned.list();
      for (const [kind, v] of exact)
        if (v !== undefined) bans = bans.filter((b) => b.as === kind && b.who === v);
      for (const [kinds, v] of like) {
        if (v === undefined) continue;
        let re: RegExp;
        try {
          re = new RegExp(v);
        } catch {
          throw badRequest(`The filter is not a validation regex expression: ${v}`);
        }
        bans = bans.filter((b) => kinds.includes(b.as) && re.test(b.who));
      }
      return paginate(bans, q, format);
    },
  );
  app.post(
    '/banned',
    {
      schema: {
        tags,
        summary: 'Ban a client id, username or address',
        body: BanBody,
        response: { 200: BanView, 400: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      try {
        return format(
          ctx.banned.create({
            as: b.as,
            who: b.who,
            by: b.by,
            reason: b.reason,
            at: time(b.at, 'at'),
            until: time(b.until, 'until'),
          }),
        );
      } catch (err) {
        if (err instanceof BanError) throw new ApiError(400, err.code, err.message);
        throw err;
      }
    },
  );
  app.delete('/banned', { schema: { tags, summary: 'Remove every ban' } }, async (_req, reply) => {
    ctx.banned.clear();
    return reply.code(204).send();
  });
  app.delete(
    '/banned/:as/:who',
    {
      schema: {
        tags,
        summary: 'Remove one ban',
        params: Type.Object({ as: As, who: Type.String() }),
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { as, who } = req.params;
      if (!ctx.banned.delete(as as BanKind, who))
        throw new ApiError(404, 'NOT_FOUND', `${as}: ${who} not found`);
      return reply.code(204).send();
    },
  );
}
