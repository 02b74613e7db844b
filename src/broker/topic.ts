/**
 * Topic names and filters: validation (MQTT 5 §4.7), shared-subscription parsing, matching.
 */

export interface TopicLimits {
  maxLevels: number;
  maxLength: number;
}

const DEFAULT_LIMITS: TopicLimits = { maxLevels: 128, maxLength: 65535 };

/** Why a topic name is not valid for PUBLISH, or undefined when it is. */
export function topicNameError(topic: string, limits: TopicLimits = DEFAULT_LIMITS): string | undefined {
  if (topic.length === 0) return 'empty topic';
  if (topic.length > limits.maxLength && Buffer.byteLength(topic) > limits.maxLength) return 'topic too long';
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2f /* / */) levels++;
    else if (c === 0x2b /* + */ || c === 0x23 /* # */) return 'wildcard in topic name';
    else if (c === 0) return 'NUL character in topic';
  }
  if (levels > limits.maxLevels) return 'too many topic levels';
  return undefined;
}

/** Why a topic filter is not valid for SUBSCRIBE, or undefined when it is. */
export function topicFilterError(filter: string, limits: TopicLimits = DEFAULT_LIMITS): string | undefined {
  if (filter.length === 0) return 'empty topic filter';
  if (filter.length > limits.maxLength && Buffer.byteLength(filter) > limits.maxLength)
    return 'topic filter too long';
  let levels = 1;
  let levelStart = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0x2f) {
      levels++;
      levelStart = i + 1;
    } else if (c === 0x2b) {
      const next = filter.charCodeAt(i + 1);
      if (i !== levelStart || (i + 1 < filter.length && next !== 0x2f))
        return "'+' must occupy a whole level";
    } else if (c === 0x23) {
      if (i !== levelStart || i !== filter.length - 1) return "'#' must be the last level on its own";
    } else if (c === 0) return 'NUL character in topic filter';
  }
  if (levels > limits.maxLevels) return 'too many topic levels';
  return undefined;
}

/** True when the filter contains '+' or '#'. */
export function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

export interface ParsedFilter {
  /** The filter without any $share/<group>/ or $queue/ prefix. */
  filter: string;
  /** Shared subscription group ('$queue' for $queue/ subscriptions). */
  group: string | undefined;
}

/**
 * Splits `$share/<group>/<filter>` and `$queue/<filter>`. Returns an error string for a malformed share
 * (empty or wildcard group, missing filter) per MQTT 5 §4.8.2.
 */
export function parseSubscriptionTopic(topic: string): ParsedFilter | string {
  if (topic.startsWith('$share/')) {
    const slash = topic.indexOf('/', 7);
    if (slash < 0) return 'shared subscription without a topic filter';
    const group = topic.slice(7, slash);
    if (group.length === 0) return 'empty share name';
    if (group.includes('+') || group.includes('#')) return 'wildcard in share name';
    const filter = topic.slice(slash + 1);
    if (filter.length === 0) return 'shared subscription without a topic filter';
    return { filter, group };
  }
  if (topic.startsWith('$queue/')) {
    const filter = topic.slice(7);
    if (filter.length === 0) return 'shared subscription without a topic filter';
    return { filter, group: '$queue' };
  }
  return { filter: topic, group: undefined };
}

/** The subscription topic as written by the client for a filter and group. */
export function joinShare(filter: string, group: string | undefined): string {
  if (group === undefined) return filter;
  if (group === '$queue') return `$queue/${filter}`;
  return `$share/${group}/${filter}`;
}

/**
 * True when `topic` matches `filter`. A leading wildcard does not match a topic starting with '$'
 * [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  if (topic.charCodeAt(0) === 0x24 /* $ */) {
    const c = filter.charCodeAt(0);
    if (c === 0x2b || c === 0x23) return false;
  }
  let fi = 0;
  let ti = 0;
  const fl = filter.length;
  const tl = topic.length;
  while (fi < fl) {
    const fc = filter.charCodeAt(fi);
    if (fc === 0x23 /* # */) return true;
    if (fc === 0x2b /* + */) {
      // Skip one topic level.
      while (ti < tl && topic.charCodeAt(ti) !== 0x2f) ti++;
      fi++;
    } else {
      if (ti >= tl) {
        // "a/#" matches "a": the filter has "/#" left.
        return (
          fi + 1 < fl && filter.charCodeAt(fi) === 0x2f && filter.charCodeAt(fi + 1) === 0x23 && fi + 2 === fl
        );
      }
      if (fc !== topic.charCodeAt(ti)) return false;
      fi++;
      ti++;
      continue;
    }
    if (fi >= fl) return ti >= tl;
    // After '+': both must continue with '/' or both end.
    if (ti >= tl) {
      return (
        fi + 1 < fl && filter.charCodeAt(fi) === 0x2f && filter.charCodeAt(fi + 1) === 0x23 && fi + 2 === fl
      );
    }
    if (filter.charCodeAt(fi) !== 0x2f || topic.charCodeAt(ti) !== 0x2f) return false;
    fi++;
    ti++;
  }
  return ti >= tl;
}

/** Prefixes a topic with a mountpoint (plain concatenation, as EMQX). */
export function mount(mountpoint: string, topic: string): string {
  return mountpoint.length === 0 ? topic : mountpoint + topic;
}

/** Strips a mountpoint prefix from a topic, if present. */
export function unmount(mountpoint: string, topic: string): string {
  if (mountpoint.length === 0 || !topic.startsWith(mountpoint)) return topic;
  return topic.slice(mountpoint.length);
}
