/**
 * The load step every page has: run a fetch, show a spinner meanwhile, keep the API's `{code, message}`
 * text when it fails (the page shows it inline instead of going blank).
 */
import { type Ref, ref } from 'vue';
import { errorText } from './client';

export interface Loader {
  loading: Ref<boolean>;
  /** The last failure's text, '' after a load that worked. */
  error: Ref<string>;
  load(): Promise<void>;
}

export function useLoader(fetch: () => Promise<void>): Loader {
  const loading = ref(false);
  const error = ref('');
  async function load(): Promise<void> {
    loading.value = true;
    try {
      await fetch();
      error.value = '';
    } catch (err) {
      error.value = errorText(err);
    } finally {
      loading.value = false;
    }
  }
  return { loading, error, load };
}
