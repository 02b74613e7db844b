/**
 * `hermod plugin new NAME`: writes a TypeScript plugin project (hooks logged, a demo authenticator and ACL
 * check, a ctl command, a config with its schema, an in-process broker test, `npm run pack` making
 * NAME-VSN.tar.gz). The pack script needs only Node and the system `tar`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { VERSION } from '../version.js';

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The files of a new plugin project, by relative path. */
export function scaffoldFiles(name: string): Record<string, string> {
  const pkg = {
    name,
    version: '0.1.0',
    description: `The ${name} Hermod plugin`,
    type: 'module',
    private: true,
    scripts: {
      build: 'tsc -p tsconfig.json',
      test: 'npm run build && node --test dist/test/',
      pack: 'npm run build && node scripts/pack.mjs',
    },
    hermod: { compatibility: `>=${VERSION.replace(/[-+].*$/, '')}` },
    devDependencies: {
      hermod: `^${VERSION}`,
      mqtt: '^5.0.0',
      typescript: '^5.0.0',
      '@types/node': '^22.0.0',
    },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      outDir: 'dist',
      rootDir: '.',
      skipLibCheck: true,
    },
    include: ['src', 'test'],
  };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\ndist/\n*.tar.gz\n',
    'README.md': readme(name),
    'priv/config.hocon': [
      '# Defaults, copied to <data_dir>/plugins/NAME/config.hocon at install.',
      'demo_user = "demo"',
      'demo_password = "demo-secret"',
      'deny_topic = "forbidden/#"',
      'log_hooks = true',
      '',
    ].join('\n'),
    'priv/config_schema.json': `${JSON.stringify(
      {
        type: 'object',
        properties: {
          demo_user: { type: 'string', minLength: 1 },
          demo_password: { type: 'string', minLength: 1 },
          deny_topic: { type: 'string', minLength: 1 },
          log_hooks: { type: 'boolean' },
        },
        required: ['demo_user', 'demo_password', 'deny_topic'],
        additionalProperties: false,
      },
      null,
      2,
    )}\n`,
    'src/index.ts': pluginSource(name),
    'test/plugin.test.ts': testSource(name),
    'scripts/pack.mjs': PACK_SCRIPT,
  };
}

/** Writes the project into `dir/NAME`; resolves to its path. Refuses to overwrite. */
export function scaffold(name: string, dir = process.cwd()): string {
  if (!NAME.test(name))
    throw new Error(`bad plugin name ${name}: letters, digits and _ only, a letter first`);
  const root = resolve(dir, name);
  if (existsSync(root)) throw new Error(`${root} already exists`);
  for (const [path, text] of Object.entries(scaffoldFiles(name))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** `hermod plugin <verb>`; resolves to the exit code. */
export function pluginCli(argv: string[]): number {
  const [verb, name, ...rest] = argv;
  if (verb !== 'new' || name === undefined || rest.length > 0) {
    process.stderr.write('Usage: hermod plugin new <Name>   # scaffold a TypeScript plugin project\n');
    return 1;
  }
  try {
    const root = scaffold(name);
    process.stdout.write(`Created ${root}\nNext: cd ${name} && npm install && npm test && npm run pack\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

function readme(name: string): string {
  return `# ${name}

A Hermod plugin.

- \`npm install\`, then \`npm test\` (starts a broker in-process with the plugin).
- \`npm run pack\` writes \`${name}-<version>.tar.gz\`.
- Install it on a node: \`hermod ctl plugins allow ${name}-<version>\`, then
  \`curl -u KEY:SECRET -F plugin=@${name}-<version>.tar.gz http://127.0.0.1:18083/api/v5/plugins/install\`
  and \`curl -u KEY:SECRET -X PUT http://127.0.0.1:18083/api/v5/plugins/${name}-<version>/start\`.

The config lives in \`priv/config.hocon\` (defaults) and \`priv/config_schema.json\` (its JSON Schema).
`;
}

function pluginSource(name: string): string {
  return `/**
 * The ${name} plugin: logs and counts the hooks of EMQX's plugin template, authenticates a demo user,
 * denies publishing to one topic filter, and adds \`hermod ctl cmd arg1 arg2\` (prints ok).
 */
import type { HermodPlugin, PluginApi } from 'hermod';

interface Config {
  demo_user: string;
  demo_password: string;
  deny_topic: string;
  log_hooks?: boolean;
}

/** MQTT topic filter match, enough for the demo ACL. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

let api: PluginApi | undefined;

const plugin: HermodPlugin = {
  start(a) {
    api = a;
    const conf = () => a.config() as unknown as Config;
    a.log.info('starting');
    const logged = (hook: string, facts: Record<string, unknown>) => {
      a.metrics.inc(hook.replace('.', '_'));
      if (conf().log_hooks !== false) a.log.info(facts, hook);
    };
    // The hooks of EMQX's plugin template: each is logged and counted.
    a.hook('client.connected', (client) => void logged('client.connected', { clientid: client.clientid }));
    a.hook('client.disconnected', (client, reason) =>
      void logged('client.disconnected', { clientid: client.clientid, reason }),
    );
    a.hook('client.subscribe', (client, _props, filters) =>
      void logged('client.subscribe', { clientid: client.clientid, topics: filters.map((f) => f.topic) }),
    );
    a.hook('session.subscribed', (client, topic) =>
      void logged('session.subscribed', { clientid: client.clientid, topic }),
    );
    a.hook('client.unsubscribe', (client, _props, filters) =>
      void logged('client.unsubscribe', { clientid: client.clientid, topics: filters.map((f) => f.topic) }),
    );
    a.hook('session.unsubscribed', (client, topic) =>
      void logged('session.unsubscribed', { clientid: client.clientid, topic }),
    );
    a.hook('message.publish', (msg) => void logged('message.publish', { topic: msg.topic }));
    a.hook('message.delivered', (client, msg) =>
      void logged('message.delivered', { clientid: client.clientid, topic: msg.topic }),
    );
    a.hook('message.acked', (client, msg) =>
      void logged('message.acked', { clientid: client.clientid, topic: msg.topic }),
    );
    // Demo authenticator: decides for its own user only, leaves every other client to the chain.
    a.hook(
      'client.authenticate',
      (cred, acc) => {
        if (cred.username !== conf().demo_user) return { ok: acc };
        const good = cred.password?.toString() === conf().demo_password;
        return { stop: good ? { kind: 'ok' } : { kind: 'error', reason: 'bad_username_or_password' } };
      },
      980,
    );
    // Demo ACL check: nobody publishes to deny_topic.
    a.hook(
      'client.authorize',
      (_client, action, topic, acc) => {
        if (action.action_type === 'publish' && matches(conf().deny_topic, topic))
          return { stop: { result: 'deny', from: '${name}' } };
        return { ok: acc };
      },
      970,
    );
    // hermod ctl cmd arg1 arg2 → ok
    a.ctl('cmd', {
      usage: ['cmd arg1 arg2   # cmd demo'],
      run: (args) => {
        if (args.length === 2 && args[0] === 'arg1' && args[1] === 'arg2') return 'ok';
        throw new Error('usage: cmd arg1 arg2');
      },
    });
  },
  stop() {
    api?.log.info('stopping');
    api = undefined;
  },
  onConfigChanged(_old, next) {
    if (typeof next.deny_topic === 'string' && next.deny_topic.startsWith('$')) throw new Error('deny_topic may not be a $ topic');
  },
  healthCheck() {
    return api === undefined ? 'not started' : undefined;
  },
};

export default plugin;
`;
}

function testSource(name: string): string {
  return `import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { HermodNode, resolveConfig } from 'hermod';
import mqtt from 'mqtt';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const nameVsn = \`${name}-\${pkg.version}\`;
let node: HermodNode;
let dataDir: string;

before(async () => {
  execFileSync(process.execPath, ['scripts/pack.mjs']);
  dataDir = mkdtempSync(join(tmpdir(), '${name}-'));
  // Free ports and no dashboard, so the test runs next to a broker already on this machine.
  const cfg = resolveConfig({
    node: { data_dir: dataDir },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    dashboard: { listeners: { http: { enable: false } } },
  });
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.errors));
  node = new HermodNode(cfg.value, { store: dataDir });
  await node.start();
  node.plugins.allow(nameVsn);
  await node.plugins.installUpload(\`\${nameVsn}.tar.gz\`, readFileSync(\`\${nameVsn}.tar.gz\`));
  await node.plugins.startAndEnable(nameVsn);
});

after(async () => {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('authenticates the demo user and refuses a wrong password', async () => {
  const url = \`mqtt://127.0.0.1:\${node.port()}\`;
  const ok = await mqtt.connectAsync(url, { username: 'demo', password: 'demo-secret', reconnectPeriod: 0 });
  await ok.endAsync();
  await assert.rejects(mqtt.connectAsync(url, { username: 'demo', password: 'wrong', reconnectPeriod: 0 }));
});
`;
}

const PACK_SCRIPT = `// Packs the plugin as NAME-VSN.tar.gz: NAME-VSN/{release.json, README.md, dist/, priv/}. Needs the system tar.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const nameVsn = \`\${pkg.name}-\${pkg.version}\`;
if (!existsSync('dist/src/index.js')) throw new Error('dist/src/index.js is missing: run npm run build first');
const work = mkdtempSync(join(tmpdir(), 'hermod-pack-'));
try {
  const dir = join(work, nameVsn);
  mkdirSync(dir);
  cpSync('dist/src', join(dir, 'dist'), { recursive: true });
  if (existsSync('priv')) cpSync('priv', join(dir, 'priv'), { recursive: true });
  cpSync('README.md', join(dir, 'README.md'));
  const release = {
    name: pkg.name,
    rel_vsn: pkg.version,
    description: pkg.description,
    entry: 'dist/index.js',
    compatibility: { hermod: pkg.hermod?.compatibility ?? '*' },
    authors: pkg.author ? [pkg.author] : [],
    git_commit_or_build_date: new Date().toISOString(),
    metadata_vsn: '0.1.0',
    with_config_schema: existsSync('priv/config_schema.json'),
  };
  writeFileSync(join(dir, 'release.json'), \`\${JSON.stringify(release, null, 2)}\\n\`);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\\n');
  const out = resolve(\`\${nameVsn}.tar.gz\`);
  execFileSync('tar', ['-czf', out, '-C', work, nameVsn]);
  console.log(\`wrote \${out}\`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
`;
