/**
 * Module resolution hooks (node:module register) that append every URL a process resolves to the file
 * named by HERMOD_TEST_MODULE_TRACE, one per line. Loaded by ./module-trace.ts; see there.
 */
import { appendFileSync } from 'node:fs';

interface Resolved {
  url: string;
}
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

const out = process.env.HERMOD_TEST_MODULE_TRACE;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const r = await next(specifier, context);
  if (out !== undefined) appendFileSync(out, `${r.url}\n`);
  return r;
}
