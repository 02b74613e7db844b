/** `/api_key`: API keys for HTTP Basic authentication (the secret is shown only when a key is created). */
import { Type } from '@sinclair/typebox';
import type { ApiKey } from '../auth/api-keys.js';
import { badRequest, ErrorBody, NoContent, notFound } from '../errors.js';
import { parseTime, rfc3339, rfc3339OrInfinity } from '../format.js';
import type { Api, MgmtPlane } from '../types.js';

const Expiry = Type.Union([Type.String(), Type.Integer()], {
  description: 'RFC 3339, epoch seconds or "infinity"',
});
const NameParam = Type.Object({ name: Type.String() });

function format(k: ApiKey, secret?: string): Record<string, unknown> {
  return {
    name: k.name,
    api_key: k.api_key,
    ...(secret !== undefined ? { api_secret: secret } : {}),
    expired_at: rfc3339OrInfinity(k.expired_at),
    created_at: rfc3339(k.created_at),
    desc: k.desc,
    enable: k.enable,
    expired: k.expired_at !== undefined && k.expired_at <= Date.now(),
    role: k.role,
  };
}

function expiry(v: string | number | undefined): number | undefined {
  if (v === undefined || v === 'infinity') return undefined;
  const t = parseTime(v, 's');
  if (t === undefined)
    throw badRequest('body/expired_at must be an RFC 3339 time, epoch seconds or "infinity"');
  return t;
}

export function apiKeysArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['API Keys'];
  const noApiKey = { apiKey: false };
  app.get('/api_key', { config: noApiKey, schema: { tags, summary: 'List API keys' } }, async () =>
    ctx.apiKeys.list().map((k) => format(k)),
  );
  app.post(
    '/api_key',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Create an API key',
        body: Type.Object({
          name: Type.String(),
          desc: Type.String({ default: '' }),
          enable: Type.Boolean({ default: true }),
          expired_at: Type.Optional(Expiry),
          role: Type.String({ default: 'administrator' }),
        }),
        response: { 400: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      const k = ctx.apiKeys.create({
        name: b.name,
        desc: b.desc,
        enable: b.enable,
        expired_at: expiry(b.expired_at),
        role: b.role,
      });
      return format(k, k.api_secret);
    },
  );
  app.get(
    '/api_key/:name',
    {
      config: noApiKey,
      schema: { tags, summary: 'One API key', params: NameParam, response: { 404: ErrorBody } },
    },
    async (req) => {
      const k = ctx.apiKeys.get(req.params.name);
      if (k === undefined) throw notFound('Name NOT FOUND');
      return format(k);
    },
  );
  app.put(
    '/api_key/:name',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Update an API key',
        params: NameParam,
        body: Type.Object({
          desc: Type.Optional(Type.String()),
          enable: Type.Optional(Type.Boolean()),
          expired_at: Type.Optional(Expiry),
          role: Type.Optional(Type.String()),
        }),
        response: { 404: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      return format(
        ctx.apiKeys.update(req.params.name, {
          desc: b.desc,
          enable: b.enable,
          expired_at: expiry(b.expired_at),
          role: b.role,
        }),
      );
    },
  );
  app.delete(
    '/api_key/:name',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Delete an API key',
        params: NameParam,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      ctx.apiKeys.delete(req.params.name);
      return reply.code(204).send();
    },
  );
}
