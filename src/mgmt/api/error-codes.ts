/** `GET /error_codes` and `/error_codes/:code`: what each API error code means. */
import { Type } from '@sinclair/typebox';
import { ERROR_CODES, ErrorBody, notFound } from '../errors.js';
import type { Api } from '../types.js';

const Code = Type.Object({ name: Type.String(), description: Type.String() });

export function errorCodesArea(app: Api): void {
  const tags = ['Error Codes'];
  app.get(
    '/error_codes',
    { schema: { tags, summary: 'Every error code', response: { 200: Type.Array(Code) } } },
    async () => Object.entries(ERROR_CODES).map(([name, description]) => ({ name, description })),
  );
  app.get(
    '/error_codes/:code',
    {
      schema: {
        tags,
        summary: 'One error code',
        params: Type.Object({ code: Type.String() }),
        response: { 200: Code, 404: ErrorBody },
      },
    },
    async (req) => {
      const d = ERROR_CODES[req.params.code];
      if (d === undefined) throw notFound(`error code ${req.params.code} not found`);
      return { name: req.params.code, description: d };
    },
  );
}
