/**
 * Small composables the core pages share: a loader for one non-paged API read (with its `{code, message}`
 * error text), delete-after-confirming, time formatting, polling and a narrow-screen flag.
 */
import { onBeforeUnmount, type Ref, ref, shallowRef } from 'vue';
import { api, attempt } from '../../api/client';
import { type Loader, useLoader } from '../../api/loader';
import { t } from '../../i18n';
import { confirmed } from '../confirm';

export interface Loaded<T> extends Loader {
  data: Ref<T>;
}

/** The shell's loader (spinner, `{code, message}` text) around one read whose result the page shows. */
export function useLoad<T>(read: () => Promise<T>, initial: T): Loaded<T> {
  const data = shallowRef(initial) as Ref<T>;
  const loader = useLoader(async () => {
    data.value = await read();
  });
  return { data, ...loader };
}

/** Confirms, deletes `path`, and reloads the page's data; the API's error is shown when the delete fails. */
export async function removeThen(question: string, path: string, reload: () => Promise<void>): Promise<void> {
  if (!(await confirmed(question, t('common.delete')))) return;
  if (await attempt(() => api.del(path), t('core.common.deleted'))) await reload();
}

/** A time from the API (epoch ms or seconds, or RFC 3339) as local date and time; '' when absent. */
export function formatTime(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (v === 'infinity') return t('core.common.never');
  let ms: number;
  if (typeof v === 'number') ms = v < 1e12 ? v * 1000 : v;
  else ms = Date.parse(String(v));
  if (Number.isNaN(ms)) return String(v);
  return new Date(ms).toLocaleString();
}

/** Milliseconds as "3d 4h 5m 6s". */
export function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  parts.push(`${s}s`);
  return parts.join(' ');
}

/** True while the window is phone-sized (tables show fewer columns, pagers fewer controls). */
export function useNarrow(maxWidth = 600): Ref<boolean> {
  const query = window.matchMedia(`(max-width: ${maxWidth}px)`);
  const narrow = ref(query.matches);
  const on = (e: MediaQueryListEvent) => {
    narrow.value = e.matches;
  };
  query.addEventListener('change', on);
  onBeforeUnmount(() => query.removeEventListener('change', on));
  return narrow;
}

/** Calls `tick` every `ms` while the page is mounted. */
export function usePolling(tick: () => unknown, ms: number): void {
  const timer = window.setInterval(() => void tick(), ms);
  onBeforeUnmount(() => window.clearInterval(timer));
}
