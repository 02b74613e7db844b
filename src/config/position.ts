/**
 * EMQX's position values for ordered config lists (authentication chains, authorization sources, plugin
 * states): `front`, `rear`, `before:NAME`, `after:NAME`. One parser and one placement for every list; each
 * caller maps "not a position" and "no such NAME" onto its own error codes.
 */

/** Where an item goes in its list. */
export type Position = { at: 'front' | 'rear' } | { at: 'before' | 'after'; other: string };

/** Parses a position; undefined when the text is not one. */
export function parsePosition(text: string): Position | undefined {
  if (text === 'front' || text === 'rear') return { at: text };
  const m = /^(before|after):(.+)$/.exec(text);
  if (m === null) return undefined;
  return { at: m[1] as 'before' | 'after', other: m[2]! };
}

/** A copy of `list` with `item` placed at `position`; undefined when the named neighbour is not in it. */
export function placeAt<T>(
  list: readonly T[],
  item: T,
  position: Position,
  nameOf: (t: T) => string,
): T[] | undefined {
  const out = [...list];
  if (!('other' in position)) {
    if (position.at === 'front') out.unshift(item);
    else out.push(item);
  } else {
    const other = position.other;
    const j = out.findIndex((x) => nameOf(x) === other);
    if (j < 0) return undefined;
    out.splice(position.at === 'before' ? j : j + 1, 0, item);
  }
  return out;
}
