/**
 * Continuations that stay synchronous until a step actually returns a Promise: the hot path awaits nothing
 * unless an async hook or authenticator answers. (Not named `then`: a module exporting `then` is taken for
 * a thenable by `await import()`.)
 */

/** Applies `f` to `v` now, or when it resolves. */
export function andThen<T, R>(v: T | Promise<T>, f: (t: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}
