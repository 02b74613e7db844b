/**
 * Small composables the core pages share: a loader for one non-paged API read (with its `{code, message}`
 * error text), a confirmation before destructive actions, time formatting, and a narrow-screen flag.
 */
import { ElMessageBox } from 'element-plus';
import { onBeforeUnmount, type Ref, ref, shallowRef } from 'vue';
import { api, attempt, errorText } from '../../api/client';
import { t } from '../../i18n';

export interface Loaded<T> {
  data: Ref<T>;
  loading: Ref<boolean>;
  /** The last failure as `CODE: message`, '' after a successful load. */
  error: Ref<string>;
  load(): Promise<void>;
}

export function useLoad<T>(read: () => Promise<T>, initial: T): Loaded<T> {
  const data = shallowRef(initial) as Ref<T>;
  const loading = ref(false);
  const error = ref('');
  let seq = 0;
  async function load(): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    try {
      const value = await read();
      if (mine !== seq) return;
      data.value = value;
      error.value = '';
    } catch (err) {
      if (mine === seq) error.value = errorText(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  return { data, loading, error, load };
}

/** Asks before a destructive action; false when the user cancels. */
export async function confirmed(message: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, t('core.common.confirmTitle'), {
      type: 'warning',
      confirmButtonText: t('common.confirm'),
      cancelButtonText: t('common.cancel'),
    });
    return true;
  } catch {
    return false;
  }
}

/** Confirms, deletes `path`, and reloads the page's data; the API's error is shown when the delete fails. */
export async function removeThen(question: string, path: string, reload: () => Promise<void>): Promise<void> {
  if (!(await confirmed(question))) return;
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
