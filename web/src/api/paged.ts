/**
 * Server-side paging as the API does it: `page` and `limit` in the query, `{data, meta: {count}}` back.
 * Pages bind `rows`, `page`, `limit`, `count` to a table and an ElPagination and call `load()`.
 */
import { type Ref, ref, shallowRef } from 'vue';
import { api, errorText, type Query } from './client';

export interface Paged<T> {
  data: T[];
  meta: { page?: number; limit?: number; count?: number; hasnext?: boolean };
}

export interface PagedList<T> {
  rows: Ref<T[]>;
  page: Ref<number>;
  limit: Ref<number>;
  count: Ref<number>;
  loading: Ref<boolean>;
  /** The last error's `{code, message}` text, '' when the last load worked. */
  error: Ref<string>;
  load(): Promise<void>;
  /** Back to page 1 (filters changed) and load. */
  reset(): Promise<void>;
}

export const PAGE_SIZES = [10, 20, 50, 100];

/** `filters` is read on every load, so a reactive object of search fields just works. */
export function usePaged<T>(path: string | (() => string), filters: () => Query = () => ({})): PagedList<T> {
  const rows = shallowRef<T[]>([]) as Ref<T[]>;
  const page = ref(1);
  const limit = ref(20);
  const count = ref(0);
  const loading = ref(false);
  const error = ref('');
  let seq = 0;
  async function load(): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    try {
      const p = typeof path === 'string' ? path : path();
      const res = await api.get<Paged<T>>(p, { ...filters(), page: page.value, limit: limit.value });
      if (mine !== seq) return;
      rows.value = res.data;
      count.value = res.meta.count ?? res.data.length;
      error.value = '';
    } catch (err) {
      if (mine !== seq) return;
      rows.value = [];
      count.value = 0;
      error.value = errorText(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  async function reset(): Promise<void> {
    page.value = 1;
    await load();
  }
  return { rows, page, limit, count, loading, error, load, reset };
}
