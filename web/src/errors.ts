/**
 * The page-level error state: anything a page fails to do (a render error, a lazy page that will not load)
 * lands here and the layout shows it in place of the page, so the user never faces a blank screen.
 */
import { ref } from 'vue';
import { errorText } from './api/client';

export const pageError = ref<string | undefined>(undefined);

export function reportPageError(err: unknown): void {
  pageError.value = errorText(err);
  // Logged too: an uncaught error is a bug, and the browser tests fail on console errors.
  console.error(err);
}
