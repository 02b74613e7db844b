// LwM2M paths (`/3`, `/3/0`, `/3/0/1`, `/3/0/1/2`) as numbers: object, instance, resource, resource instance.
import { ContentError } from './api.js';

/** 1 to 4 ids; each 0..65535 (the TLV and CoAP encodings carry 16 bits). */
export type LwPath = readonly number[];

const ID = /^\d{1,5}$/;

/** Parses `/3/0/1` (leading and trailing slashes optional); throws ContentError for anything else. */
export function parsePath(text: string): LwPath {
  const trimmed = trimSlashes(text);
  if (trimmed === '') throw new ContentError(`path "${text}" names no object`);
  const ids = splitIds(trimmed, text);
  if (ids.length > 4) throw new ContentError(`path "${text}" is deeper than a resource instance`);
  return ids;
}

/** Parses a path relative to another (`13`, `/6/0`, `` for the base itself); no depth check. */
export function parseRelative(text: string): number[] {
  const trimmed = trimSlashes(text);
  return trimmed === '' ? [] : splitIds(trimmed, text);
}

export function formatPath(path: LwPath): string {
  return `/${path.join('/')}`;
}

/** The name of `path` under a base name ending in "/" (`/3/0/` + `1/2`); "" for the base itself. */
export function relativeName(prefix: string, path: LwPath): string {
  const full = formatPath(path);
  if (`${full}/` === prefix) return '';
  if (!full.startsWith(prefix)) throw new ContentError(`${full} is not below ${prefix}`);
  return full.slice(prefix.length);
}

function splitIds(trimmed: string, original: string): number[] {
  return trimmed.split('/').map((part) => {
    if (!ID.test(part) || Number(part) > 65535) {
      throw new ContentError(`path "${original}" has "${part}" where an id 0..65535 belongs`);
    }
    return Number(part);
  });
}

function trimSlashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 47) start++;
  while (end > start && text.charCodeAt(end - 1) === 47) end--;
  return text.slice(start, end);
}
