/**
 * Only the broker publishes `$SYS/…`: a client publish there is refused unless a rule grants it
 * explicitly. Explicit means an `allow` rule whose action is `publish` (not `all`) and whose topic pattern
 * itself starts with `$SYS` (not `all`, and never `#`, which does not cover `$`-topics). Rules that grant
 * everything, such as acl.conf's "clients on this host may do anything", therefore never reach `$SYS`.
 * An authorization callback that answers for the exact topic (HTTP source, ExHook, a plugin) is explicit.
 */

/** Whether a client publish to `topic` needs an explicit grant. */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS') && (topic.length === 4 || topic.charCodeAt(4) === 0x2f);
}
