/**
 * Every key of a KV bucket, within a time limit. nats.js's `keys()` reads through an ordered consumer; a
 * listing was once seen waiting forever on a loaded machine while heartbeats rewrote the keys (the
 * workers test), so a listing that takes longer than `timeoutMs` is stopped and started again, and after
 * `attempts` tries the caller gets an error instead of a wait with no end.
 */
import type { KV } from '@nats-io/kv';

/** Long enough for a bucket of a million keys on a busy machine; the point is only that it ends. */
const LIST_TIMEOUT_MS = 30_000;

export async function listKeys(kv: KV, timeoutMs = LIST_TIMEOUT_MS, attempts = 3): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const keys: string[] = [];
    let iter: Awaited<ReturnType<KV['keys']>> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    // Opening the listing is timed too: it asks the server for a consumer, which may not answer.
    const read = (async () => {
      iter = await kv.keys();
      for await (const k of iter) keys.push(k);
      return true as const;
    })();
    // The abandoned attempt ends when its iterator stops or its request fails; its result is not wanted.
    read.catch(() => undefined);
    const done = await Promise.race([read, late]);
    clearTimeout(timer);
    if (done) return keys;
    iter?.stop();
    if (attempt >= attempts)
      throw new Error(`listing a bucket's keys took over ${timeoutMs} ms, ${attempts} times`);
  }
}
