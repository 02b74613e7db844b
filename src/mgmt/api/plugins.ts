/**
 * `/plugins…` (EMQX 5.8's Plugins API): list, install by multipart upload, describe with README, start /
 * stop, uninstall, config get/put, schema, move. `POST /plugins/:name/allow|disallow` is the gate that
 * `hermod ctl plugins allow` opens (ctl credential only). `/plugin_api/NAME/…` runs plugins' own routes
 * and `/plugin_api/_ctl` their ctl commands, all behind the API's authentication.
 */
import { Type } from '@sinclair/typebox';
import { PluginError } from '../../plugins/errors.js';
import { parsePosition } from '../../plugins/manager.js';
import { ApiError, ErrorBody } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import { parseMultipart } from './gateways-multipart.js';

const Name = Type.Object({ name: Type.String() });
const NoContent = Type.Null();

/** Runs a manager call, turning its PluginError into the API's `{code, message}`. */
async function call<T>(op: () => T | Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof PluginError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
}

export async function pluginsArea(app: Api, ctx: MgmtPlane): Promise<void> {
  const tags = ['Plugins'];
  const plugins = () => ctx.node.plugins;
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  app.get('/plugins', { schema: { tags, summary: 'Installed plugins in start order' } }, async () =>
    plugins().list(),
  );

  app.post(
    '/plugins/install',
    {
      schema: {
        tags,
        summary:
          'Install a plugin package (multipart field "plugin": NAME-VSN.tar.gz; field start=true also starts it)',
        consumes: ['multipart/form-data'],
        response: { 204: NoContent, 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      const ct = String(req.headers['content-type'] ?? '');
      const parts = Buffer.isBuffer(req.body) ? parseMultipart(req.body, ct) : [];
      const file = parts.find((p) => p.name === 'plugin' && p.filename !== undefined);
      if (file === undefined)
        throw new ApiError(
          400,
          'BAD_FORM_DATA',
          'expected a multipart/form-data upload with a "plugin" file field',
        );
      await call(() => plugins().installUpload(file.filename!, file.data));
      // Hermod addition: form field start=true also starts and enables it, so one call gets a plugin running.
      const start = parts.find((p) => p.name === 'start' && p.filename === undefined)?.data.toString();
      if (start === 'true') {
        const nameVsn = file.filename!.replace(/^.*[\\/]/, '').replace(/\.tar\.gz$/, '');
        await call(() => plugins().startAndEnable(nameVsn));
      }
      return reply.code(204).send();
    },
  );

  app.get(
    '/plugins/:name',
    { schema: { tags, summary: 'A plugin with its README', params: Name, response: { 404: ErrorBody } } },
    async (req) => call(() => plugins().describe(req.params.name)),
  );

  app.delete(
    '/plugins/:name',
    {
      schema: {
        tags,
        summary: 'Stop, disable and uninstall a plugin',
        params: Name,
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      await call(() => plugins().uninstall(req.params.name, true));
      return reply.code(204).send();
    },
  );

  app.put(
    '/plugins/:name/:action',
    {
      schema: {
        tags,
        summary: 'Start (and enable) or stop (and disable) a plugin',
        params: Type.Object({
          name: Type.String(),
          action: Type.Union([Type.Literal('start'), Type.Literal('stop')]),
        }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { name, action } = req.params;
      await call(() =>
        action === 'start' ? plugins().startAndEnable(name) : plugins().stopAndDisable(name),
      );
      return reply.code(204).send();
    },
  );

  app.get(
    '/plugins/:name/config',
    {
      schema: {
        tags,
        summary: "A plugin's config",
        params: Name,
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => call(() => plugins().getConfig(req.params.name)),
  );

  app.put(
    '/plugins/:name/config',
    {
      schema: {
        tags,
        summary: "Change a plugin's config (validated by its schema and the plugin)",
        params: Name,
        body: Type.Object({}, { additionalProperties: true }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      await call(() => plugins().putConfig(req.params.name, req.body as Record<string, unknown>));
      return reply.code(204).send();
    },
  );

  app.get(
    '/plugins/:name/schema',
    {
      schema: {
        tags,
        summary: "A plugin's config schema and i18n hints",
        params: Name,
        response: { 404: ErrorBody },
      },
    },
    async (req) => call(() => plugins().schema(req.params.name)),
  );

  app.get(
    '/plugins/:name/health',
    { schema: { tags, summary: "A plugin's health check", params: Name, response: { 404: ErrorBody } } },
    async (req) => {
      const why = await call(() => plugins().health(req.params.name));
      return why === undefined ? { status: 'ok' } : { status: 'error', message: why };
    },
  );

  app.post(
    '/plugins/:name/move',
    {
      schema: {
        tags,
        summary: 'Move a plugin in the start order (front, rear, before:N-V, after:N-V)',
        params: Name,
        body: Type.Object({ position: Type.String() }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      await call(() => plugins().move(req.params.name, req.body.position));
      return reply.code(204).send();
    },
  );

  for (const verb of ['allow', 'disallow'] as const) {
    app.post(
      `/plugins/:name/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb === 'allow' ? 'Allow' : 'No longer allow'} an API upload of NAME-VSN (hermod ctl only)`,
          params: Name,
          response: { 204: NoContent, 400: ErrorBody, 403: ErrorBody },
        },
      },
      async (req, reply) => {
        // The gate exists so that API credentials alone cannot put code into the broker.
        if (req.actor?.kind !== 'ctl')
          throw new ApiError(403, 'FORBIDDEN', `only "hermod ctl plugins ${verb}" on the node may do this`);
        await call(() => plugins().allow(req.params.name, verb === 'allow'));
        return reply.code(204).send();
      },
    );
  }

  app.post(
    '/plugins/:name/ctl/:verb',
    {
      schema: {
        tags,
        summary: 'The lifecycle verbs of "hermod ctl plugins" (ctl credential only)',
        params: Type.Object({
          name: Type.String(),
          verb: Type.Union(
            ['install', 'uninstall', 'start', 'stop', 'restart', 'enable', 'disable'].map((v) =>
              Type.Literal(v),
            ),
          ),
        }),
        body: Type.Optional(Type.Object({ position: Type.Optional(Type.String()) })),
        response: { 204: NoContent, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      if (req.actor?.kind !== 'ctl')
        throw new ApiError(403, 'FORBIDDEN', 'only "hermod ctl plugins" may do this');
      const { name, verb } = req.params;
      const p = plugins();
      await call(async () => {
        if (verb === 'install') return p.installPlaced(name);
        if (verb === 'uninstall') return p.uninstall(name, false);
        if (verb === 'enable' || verb === 'disable') {
          const text = req.body?.position;
          const position = text === undefined ? undefined : parsePosition(text);
          if (text !== undefined && position === undefined)
            throw new PluginError('BAD_POSITION', `Invalid position: ${text}`);
          return p.enable(name, verb === 'enable', position);
        }
        return p.run(name, verb as 'start' | 'stop' | 'restart');
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/plugin_api/_ctl',
    { schema: { tags, summary: "Plugins' ctl commands and their usage" } },
    async () => [...plugins().ctlCommands()].map(([command, c]) => ({ command, usage: c.usage })),
  );

  app.post(
    '/plugin_api/_ctl/:command',
    {
      schema: {
        tags,
        summary: "Run a plugin's ctl command",
        params: Type.Object({ command: Type.String() }),
        body: Type.Object({ args: Type.Array(Type.String()) }),
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const cmd = plugins().ctlCommands().get(req.params.command);
      if (cmd === undefined) throw new ApiError(404, 'NOT_FOUND', `no plugin command ${req.params.command}`);
      try {
        const out = await cmd.run(req.body.args);
        return { output: Array.isArray(out) ? out.join('\n') : String(out ?? '') };
      } catch (err) {
        throw new ApiError(400, 'BAD_REQUEST', (err as Error).message);
      }
    },
  );

  app.all(
    '/plugin_api/:plugin/*',
    { schema: { tags, summary: "A plugin's own HTTP routes", hide: true } },
    async (req, reply) => {
      const { plugin, '*': rest } = req.params as { plugin: string; '*': string };
      const r = await call(() =>
        plugins().route(plugin, {
          method: req.method,
          path: rest,
          query: req.query as Record<string, string>,
          body: req.body,
        }),
      );
      if (r === undefined) throw new ApiError(404, 'NOT_FOUND', 'Request Path Not Found');
      return reply.code(r.status ?? 200).send(r.body ?? null);
    },
  );
}
