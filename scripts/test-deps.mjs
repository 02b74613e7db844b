#!/usr/bin/env node
// Installs the Debian packages the test suite talks to (real peers, no mocks) when they are missing.
// Runs before `npm test`; needs root (or sudo) only when something must be installed.
import { execFileSync, spawnSync } from 'node:child_process';

/** Command that proves a package is present → Debian package providing it. */
const NEEDED = [
  ['mosquitto_pub', 'mosquitto-clients'],
  ['mosquitto_sub', 'mosquitto-clients'],
];

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(NEEDED.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];

if (missing.length === 0) process.exit(0);

const root = process.getuid?.() === 0;
const prefix = root ? [] : has('sudo') ? ['sudo'] : null;
if (prefix === null) {
  console.error(
    `test-deps: missing Debian packages ${missing.join(' ')}; install them (apt-get install ${missing.join(' ')})`,
  );
  process.exit(1);
}
const run = (args) => {
  const [cmd, ...rest] = [...prefix, ...args];
  execFileSync(cmd, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
};
console.log(`test-deps: installing ${missing.join(' ')}`);
try {
  run(['apt-get', 'install', '-y', '-qq', ...missing]);
} catch {
  // The package lists may be stale or absent on a fresh machine.
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', ...missing]);
}
