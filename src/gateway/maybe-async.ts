/** Continuations that stay synchronous until a step actually returns a Promise (DESIGN §3's hot-path rule). */

/** Applies `f` to `v` now, or when it resolves. */
export function then<T, R>(v: T | Promise<T>, f: (t: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}
