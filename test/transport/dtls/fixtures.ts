/** DTLS gateway test helpers: a temp dir with a PSK file and certificates made by `openssl req` at test time. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DtlsFixtures {
  dir: string;
  pskFile: string;
  /** EC CA, server and client certificates (client CN=dev7, O=Acme), and an expired client certificate. */
  ca: string;
  serverCert: string;
  serverKey: string;
  rsaCert: string;
  rsaKey: string;
  clientCert: string;
  clientKey: string;
  expiredCert: string;
  expiredKey: string;
  /** A client certificate from a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  /** An intermediate CA (CA:TRUE) issued by `ca`, and a client certificate it issued. */
  interCert: string;
  deepCert: string;
  /** A certificate issued by the client certificate, which is no CA: a forged chain. */
  forgedCert: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/**
 * An EC key and a certificate for `subject`, signed by the CA in `ca` (or self-signed); `extra` adds
 * arguments to the signing `openssl x509` call (an extensions file).
 */
function issue(
  dir: string,
  name: string,
  subject: string,
  ca: string | undefined,
  days: string[],
  extra: string[] = [],
): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  if (ca === undefined) {
    openssl(
      ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '2', '-out', `${name}.pem`],
      dir,
    );
    return;
  }
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      ...days,
      ...extra,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

export function makeDtlsFixtures(): DtlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'hermod-dtls-'));
  const pskFile = join(dir, 'psk.txt');
  writeFileSync(pskFile, 'device1:secret\ndevice2:other\n');
  issue(dir, 'ca', '/CN=Hermod Test CA', undefined, []);
  issue(dir, 'server', '/CN=localhost', 'ca', ['-days', '2']);
  issue(dir, 'client', '/O=Acme/CN=dev7', 'ca', ['-days', '2']);
  // A negative validity puts notAfter a day before notBefore (now): expired on arrival.
  issue(dir, 'expired', '/CN=old', 'ca', ['-days', '-1']);
  issue(dir, 'stranger-ca', '/CN=Other CA', undefined, []);
  issue(dir, 'stranger', '/CN=stranger', 'stranger-ca', ['-days', '2']);
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n');
  issue(dir, 'inter', '/CN=Hermod Test Intermediate', 'ca', ['-days', '2'], ['-extfile', 'ca.ext']);
  issue(dir, 'deep', '/CN=deep', 'inter', ['-days', '2']);
  issue(dir, 'forged', '/CN=forged', 'client', ['-days', '2']);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'rsa.key',
      '-subj',
      '/CN=localhost',
      '-days',
      '2',
      '-out',
      'rsa.pem',
    ],
    dir,
  );
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    pskFile,
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    rsaCert: p('rsa.pem'),
    rsaKey: p('rsa.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    expiredCert: p('expired.pem'),
    expiredKey: p('expired.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
    interCert: p('inter.pem'),
    deepCert: p('deep.pem'),
    forgedCert: p('forged.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
