#!/usr/bin/env node
// Installs the Debian packages the test suite talks to (real peers, no mocks) when they are missing.
// Runs before `npm test`; needs root (or sudo) only when something must be installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
// Server binaries live in sbin or versioned dirs that a non-root PATH may not list.
const hasFile = (path) => existsSync(path);
const hasPython = (module) =>
  spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
const hasPostgres = () => {
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return false;
  }
};

/** Check that proves a package is present → Debian package providing it. */
const NEEDED = [
  [() => has('mosquitto_pub'), 'mosquitto-clients'],
  [() => has('mosquitto_sub'), 'mosquitto-clients'],
  // gateway: stomp.py as a real STOMP client, run with /usr/bin/python3 (not a python3 earlier on PATH).
  [() => hasFile('/usr/lib/python3/dist-packages/stomp/__init__.py'), 'python3-stomp'],
  // gateway: libcoap's coap-client as a real CoAP client (publish, observe, block-wise transfer).
  [() => has('coap-client-notls'), 'libcoap3-bin'],
  // exproto handlers and exhook v1 servers written in Python (grpcio), stubs generated at test time.
  [() => hasPython('grpc'), 'python3-grpcio'],
  [() => hasPython('grpc_tools'), 'python3-grpc-tools'],
  // Access-control backends (test/helpers/servers/*): each test file starts a private instance.
  [hasPostgres, 'postgresql'],
  [() => hasFile('/usr/sbin/mariadbd') && has('mariadb-install-db'), 'mariadb-server'],
  [() => has('redis-server'), 'redis-server'],
  [() => hasFile('/usr/sbin/slapd'), 'slapd'],
  // cluster: nodes talk over a private nats-server with JetStream (test/helpers/servers/nats.ts).
  [() => hasFile('/usr/sbin/nats-server'), 'nats-server'],
  [() => has('ldapadd'), 'ldap-utils'],
  // dashboard: the browser tests (test/web/) drive Debian's chromium through playwright-core.
  [() => hasFile('/usr/bin/chromium'), 'chromium'],
];

const missing = [...new Set(NEEDED.filter(([check]) => !check()).map(([, pkg]) => pkg))];

if (missing.length === 0) process.exit(0);

const root = process.getuid?.() === 0;
const prefix = root ? [] : has('sudo') ? ['sudo'] : null;
if (prefix === null) {
  console.error(
    `test-deps: missing Debian packages ${missing.join(' ')}; install them (apt-get install ${missing.join(' ')})`,
  );
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (args) => {
  const [cmd, ...rest] = [...prefix, ...args];
  execFileSync(cmd, rest, { stdio: 'inherit', env });
};

// Server packages start their daemon from postinst (slapd on 389, mariadb, redis on 6379); the tests run
// private instances instead, so tell invoke-rc.d not to start anything while we install (exit 101 = deny).
const POLICY = '/usr/sbin/policy-rc.d';
const ownPolicy = root && !existsSync(POLICY);
if (ownPolicy) writeFileSync(POLICY, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
const install = () =>
  run([
    'apt-get',
    'install',
    '-y',
    '-qq',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    ...missing,
  ]);

console.log(`test-deps: installing ${missing.join(' ')}`);
try {
  try {
    install();
  } catch {
    // The package lists may be stale or absent on a fresh machine.
    run(['apt-get', 'update', '-qq']);
    install();
  }
} finally {
  if (ownPolicy) rmSync(POLICY, { force: true });
}
