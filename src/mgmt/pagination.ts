/** EMQX page pagination: `page` (from 1) and `limit` (1..10000) in, `{data, meta}` out. */
import { Type } from '@sinclair/typebox';

export const MAX_LIMIT = 10000;

/** Query fields every paged list accepts; out-of-range values are refused with 400 by validation. */
export const PageQuery = {
  page: Type.Integer({ minimum: 1, default: 1, description: 'Page number, from 1.' }),
  limit: Type.Integer({
    minimum: 1,
    maximum: MAX_LIMIT,
    default: 100,
    description: `Results per page (max ${MAX_LIMIT}).`,
  }),
};

export interface PageMeta {
  page: number;
  limit: number;
  count: number;
  hasnext: boolean;
}

/** Response schema of a paged list of `item`. */
export function Paged<T extends ReturnType<typeof Type.Object> | ReturnType<typeof Type.Any>>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    meta: Type.Object({
      page: Type.Integer(),
      limit: Type.Integer(),
      count: Type.Integer(),
      hasnext: Type.Boolean(),
    }),
  });
}

/** One page of `items` (already filtered and ordered), each mapped through `format`. */
export function paginate<T, R>(
  items: readonly T[],
  q: { page: number; limit: number },
  format: (item: T) => R,
): { data: R[]; meta: PageMeta } {
  const start = (q.page - 1) * q.limit;
  const data = items.slice(start, start + q.limit).map(format);
  return {
    data,
    meta: { page: q.page, limit: q.limit, count: items.length, hasnext: start + q.limit < items.length },
  };
}
