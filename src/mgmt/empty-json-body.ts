/**
 * Many HTTP clients (Python's urllib with a JSON header, EMQX's dashboard, curl scripts) send
 * `content-type: application/json` on every call, bodyless DELETEs and GETs included. EMQX accepts those;
 * Fastify's JSON parser refuses an empty body with 400. This parser reads an empty body as no body and
 * leaves everything else to Fastify's own JSON parser (prototype-poisoning checks included).
 */
import type { FastifyInstance } from 'fastify';

/** Replaces the JSON body parser of `app` with one that takes an empty body as absent. */
export function acceptEmptyJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(req, text, done);
  });
}
