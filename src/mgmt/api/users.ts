/** Dashboard login, logout and administrators (`/login`, `/logout`, `/users`). */
import { Type } from '@sinclair/typebox';
import { logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { FACTORY_DEFAULT_PASSWORD } from '../auth/default-password.js';
import { ApiError, badRequest, ErrorBody, NoContent } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

const User = Type.Object({
  username: Type.String(),
  role: Type.String(),
  description: Type.String(),
  backend: Type.String(),
});
const UsernameParam = Type.Object({ username: Type.String() });

export function usersArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Dashboard'];
  // EMQX refuses API keys on these paths: they are about people, not applications.
  const noApiKey = { apiKey: false };

  app.post(
    '/login',
    {
      config: { auth: false },
      schema: {
        tags,
        summary: 'Log in; the token goes in Authorization: Bearer',
        security: [],
        body: Type.Object({
          username: Type.String({ maxLength: 100 }),
          password: Type.String({ maxLength: 100 }),
        }),
        response: {
          200: Type.Object({
            token: Type.String(),
            version: Type.String(),
            license: Type.Object({ edition: Type.String() }),
            role: Type.String(),
            default_password_in_use: Type.Optional(
              Type.Boolean({ description: 'true while this user still has the factory password "public"' }),
            ),
          }),
          401: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const source = req.ip;
      const verdict = ctx.loginLimits.begin(source, username);
      if (!verdict.ok) {
        void reply.header('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000)));
        throw new ApiError(
          429,
          'TOO_MANY_REQUESTS',
          verdict.by === 'user'
            ? 'Too many failed logins for this user; try again later'
            : 'Too many failed logins from this address; try again later',
        );
      }
      if (!(await ctx.users.verify(username, password))) {
        logger.info({ username, peer: source }, 'dashboard login failed');
        throw new ApiError(401, 'BAD_USERNAME_OR_PWD', 'Auth failed');
      }
      ctx.loginLimits.succeeded(verdict.attempt);
      const user = ctx.users.get(username)!;
      const weak = password === FACTORY_DEFAULT_PASSWORD;
      if (weak)
        logger.warn({ username }, 'dashboard login with the default password "public": change it now');
      return {
        token: ctx.tokens.issue(username),
        version: VERSION,
        license: { edition: 'opensource' },
        role: user.role,
        ...(weak ? { default_password_in_use: true } : {}),
      };
    },
  );

  app.post(
    '/logout',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Log out (ends the Bearer token)',
        body: Type.Object({ username: Type.String() }),
      },
    },
    async (req, reply) => {
      const actor = req.actor;
      if (actor?.token === undefined || actor.name !== req.body.username)
        throw new ApiError(401, 'BAD_TOKEN', 'Get a token by POST /login');
      ctx.tokens.revoke(actor.token);
      return reply.code(204).send();
    },
  );

  app.get(
    '/users',
    {
      config: noApiKey,
      schema: { tags, summary: 'List administrators', response: { 200: Type.Array(User) } },
    },
    async () => ctx.users.list(),
  );

  app.post(
    '/users',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Create an administrator',
        body: Type.Object({
          username: Type.String({ maxLength: 100 }),
          password: Type.String({ maxLength: 100 }),
          role: Type.String({ default: 'administrator' }),
          description: Type.String({ default: '' }),
        }),
        response: { 200: User, 400: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      return ctx.users.create(b.username, b.password, b.role, b.description);
    },
  );

  app.put(
    '/users/:username',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: "Change an administrator's role or description",
        params: UsernameParam,
        body: Type.Object({ role: Type.Optional(Type.String()), description: Type.Optional(Type.String()) }),
        response: { 200: User, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => ctx.users.update(req.params.username, req.body),
  );

  app.delete(
    '/users/:username',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: 'Delete an administrator',
        params: UsernameParam,
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const name = req.params.username;
      if (req.actor?.kind === 'token' && req.actor.name === name)
        throw new ApiError(400, 'NOT_ALLOWED', 'Cannot delete self');
      ctx.users.delete(name);
      ctx.tokens.revokeUser(name);
      return reply.code(204).send();
    },
  );

  app.post(
    '/users/:username/change_pwd',
    {
      config: noApiKey,
      schema: {
        tags,
        summary: "Change an administrator's password",
        params: UsernameParam,
        body: Type.Object({ old_pwd: Type.Optional(Type.String()), new_pwd: Type.String() }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { old_pwd, new_pwd } = req.body;
      // Only the operator's console (hermod ctl admins passwd) may reset a password without the old one.
      if (old_pwd === undefined && req.actor?.kind !== 'ctl')
        throw badRequest("body must have required property 'old_pwd'");
      await ctx.users.changePassword(req.params.username, old_pwd, new_pwd);
      ctx.tokens.revokeUser(req.params.username);
      return reply.code(204).send();
    },
  );
}
