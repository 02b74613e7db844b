/** Redis command templates, parsed once: the command name and one template per argument word. */
import { Template } from '../template.js';

/** A parsed command template: the command name and one template per argument. */
export interface RedisCommand {
  name: string;
  args: Template[];
}

/** Splits `cmd` on whitespace; the first word is the command (upper-cased). */
export function parseRedisCommand(cmd: string, allowed: readonly string[]): RedisCommand {
  const words = cmd
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const name = (words[0] ?? '').toUpperCase();
  if (!allowed.includes(name))
    throw new Error(
      `unsupported redis command ${JSON.stringify(words[0] ?? '')}; use ${allowed.join(' or ')}`,
    );
  if (words.length < 2) throw new Error('the redis command needs a key');
  return { name, args: words.slice(1).map((w) => new Template(w)) };
}
