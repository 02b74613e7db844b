/**
 * Search fields that live in the URL: a list page reads its filters from the query string, and searching
 * writes them back, so a filtered list is a link one can share or reload.
 */
import { reactive } from 'vue';
import { useRoute, useRouter } from 'vue-router';

export function useQueryFilters<T extends Record<string, string>>(defaults: T) {
  const route = useRoute();
  const router = useRouter();
  const initial: Record<string, string> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const v = route.query[key];
    if (typeof v === 'string') initial[key] = v;
  }
  const filters = reactive(initial as T);
  /** Puts the filters in the URL (the page reloads with them), or reloads now when the URL already has them. */
  async function apply(reload: () => Promise<void>): Promise<void> {
    const query = Object.fromEntries(
      Object.entries(filters).filter(([, v]) => v !== '' && v !== undefined && v !== null),
    );
    const same =
      Object.keys(query).length === Object.keys(route.query).length &&
      Object.entries(query).every(([k, v]) => route.query[k] === v);
    if (same) await reload();
    else await router.replace({ query });
  }
  return { filters, apply };
}
