/**
 * `hermod migrate emqx4 <etc-dir>`: writes the Hermod config equivalent to an EMQX 3.x/4.x etc/ directory
 * and reports what became of each 4.x key. The config is checked against Hermod's schema (authenticators
 * and sources against their providers') before it is written; a config that would not start is an error.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_AUTHN_PROVIDERS as authnProviders } from '../access/authn/providers.js';
import { BUILT_IN_AUTHZ_PROVIDERS as authzSources } from '../access/authz/providers.js';
import { checkConfig } from '../access/schema-parts.js';
import { type ConfSyntaxError, migrateEmqx4, type ReportLine } from '../config/compat/emqx4/index.js';
import { printHocon } from '../config/hocon/print.js';
import { resolveConfig } from '../config/resolve.js';
import { GATEWAY_CATALOG } from '../gateway/catalog.js';

const USAGE = `Usage: hermod migrate emqx4 <etc-dir> [options]

Reads an EMQX 3.x/4.x etc/ directory (emqx.conf, plugins/*.conf, loaded_plugins) and writes the Hermod
config that does the same, with a report of each 4.x key: mapped, renamed, unsupported (and why), skipped.

Options:
  --output <file>     write the config there (default: standard output); extra files (users, plugin
                      configs) go next to it (default: the current directory)
  --report <file>     write the report there (default: standard error)
  --plugins <a,b>     the 4.x plugins to migrate (default: those loaded_plugins starts)
`;

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** NAME-VSN of a plugin shipped in plugins/ (web_hook, lua_hook), as the node installs it. */
function shippedNameVsn(name: string): string {
  try {
    const rel = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'plugins', name, 'release.json'), 'utf8')) as {
      name: string;
      rel_vsn: string;
    };
    return `${rel.name}-${rel.rel_vsn}`;
  } catch {
    return `${name}-1.0.0`;
  }
}

function reportText(lines: ReportLine[], header: string): string {
  const width = Math.max(...lines.map((l) => l.key.length), 10);
  const body = lines.map((l) => {
    const what =
      l.target !== undefined ? `-> ${l.target}${l.reason ? ` (${l.reason})` : ''}` : (l.reason ?? '');
    return `${l.status.padEnd(11)} ${l.key.padEnd(width)}  ${what}  [${l.at}]`;
  });
  const count = (s: string) => lines.filter((l) => l.status === s).length;
  const summary = `${count('mapped')} mapped, ${count('renamed')} renamed, ${count('unsupported')} unsupported, ${count('skipped')} skipped`;
  return `${header}\n${body.join('\n')}\n${summary}\n`;
}

/** Every authenticator and source checked against its provider's schema; the problems found. */
function providerProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const authn = (config.authentication ?? []) as Array<Record<string, unknown>>;
  for (const [i, a] of authn.entries()) {
    const p = authnProviders.find((x) => x.mechanism === a.mechanism && x.backend === a.backend);
    const r = p === undefined ? 'unknown mechanism' : checkConfig(p.schema, a);
    if (typeof r === 'string') problems.push(`authentication[${i}] (${a.backend ?? a.mechanism}): ${r}`);
  }
  const sources = ((config.authorization as Record<string, unknown> | undefined)?.sources ?? []) as Array<
    Record<string, unknown>
  >;
  for (const [i, s] of sources.entries()) {
    const p = authzSources.find((x) => x.type === s.type);
    const r = p === undefined ? 'unknown type' : checkConfig(p.schema, s);
    if (typeof r === 'string') problems.push(`authorization.sources[${i}] (${s.type}): ${r}`);
  }
  return problems;
}

/** Replaces each extra file's name in the config with the path it was written to. */
function pointAt(value: unknown, names: Map<string, string>): unknown {
  if (typeof value === 'string') return names.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => pointAt(v, names));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pointAt(v, names)]));
  return value;
}

export async function migrate(argv: string[]): Promise<number> {
  const [kind, dir, ...rest] = argv;
  if (kind !== 'emqx4' || dir === undefined || dir.startsWith('-')) {
    process.stderr.write(USAGE);
    return kind === undefined || kind === 'help' || kind === '--help' ? 0 : 1;
  }
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i]!;
    const v = rest[i + 1];
    if (!['--output', '--report', '--plugins'].includes(k) || v === undefined) {
      process.stderr.write(USAGE);
      return 1;
    }
    opts[k.slice(2)] = v;
  }
  let result: ReturnType<typeof migrateEmqx4>;
  try {
    result = migrateEmqx4(dir, {
      gateways: GATEWAY_CATALOG.map((g) => g.name),
      webHookNameVsn: shippedNameVsn('web_hook'),
      luaHookNameVsn: shippedNameVsn('lua_hook'),
      ...(opts.plugins !== undefined ? { plugins: opts.plugins.split(',').map((p) => p.trim()) } : {}),
    });
  } catch (err) {
    const e = err as Error | ConfSyntaxError;
    process.stderr.write(`hermod migrate: ${e.message}\n`);
    return 1;
  }
  const outDir = opts.output !== undefined ? dirname(resolve(opts.output)) : process.cwd();
  const names = new Map(result.files.map((f) => [f.name, join(outDir, f.name)]));
  const config = pointAt(result.config, names) as Record<string, unknown>;

  const resolved = resolveConfig(config);
  const problems = [
    ...(resolved.ok ? [] : resolved.errors.map((e) => `${e.path || '(root)'}: ${e.message}`)),
    ...providerProblems(config),
  ];
  const header = `EMQX 4.x config ${resolve(dir)} → Hermod; plugins: ${result.loaded.join(', ') || 'none'} (from ${result.loadedFrom})`;
  const report = reportText(result.report, header);
  if (opts.report !== undefined) writeFileSync(opts.report, report);
  else process.stderr.write(report);
  if (problems.length > 0) {
    process.stderr.write(`hermod migrate: the produced config would not load:\n  ${problems.join('\n  ')}\n`);
    return 1;
  }
  mkdirSync(outDir, { recursive: true });
  const text = `# Written by hermod migrate emqx4 from ${resolve(dir)}.\n${printHocon(config as Record<string, never>)}`;
  for (const f of result.files) {
    const path = names.get(f.name)!;
    if (existsSync(path) && opts.output === undefined) {
      process.stderr.write(
        `hermod migrate: ${path} exists; not overwritten (use --output to choose a directory)\n`,
      );
      return 1;
    }
    writeFileSync(path, f.content, { mode: 0o600 });
    process.stderr.write(`wrote ${path}: ${f.what}\n`);
  }
  if (opts.output !== undefined) {
    writeFileSync(opts.output, text, { mode: 0o600 });
    process.stderr.write(`wrote ${resolve(opts.output)}\n`);
  } else process.stdout.write(text);
  return 0;
}
