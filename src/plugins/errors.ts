/** Plugin failures with EMQX's API error codes, so the API and `ctl plugins` report them the same way. */

/** A refused plugin operation: the HTTP status and `{code, message}` the API answers with. */
export class PluginError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const badInfo = (message: string) => new PluginError('BAD_PLUGIN_INFO', message);
export const notFound = (nameVsn: string) => new PluginError('NOT_FOUND', `Plugin ${nameVsn} not found`, 404);
