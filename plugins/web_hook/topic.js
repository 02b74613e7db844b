/** MQTT topic filter matching for the rules' `topics` (`+` one level, `#` the rest; `$` topics only explicitly). */

/** Whether `filter` matches `topic`. */
export function filterMatches(filter, topic) {
  if (filter === topic) return true;
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A predicate for a rule's topics; undefined or an empty list keeps every topic. */
export function topicPredicate(topics) {
  if (!Array.isArray(topics) || topics.length === 0) return () => true;
  return (topic) => topics.some((f) => filterMatches(f, topic));
}
