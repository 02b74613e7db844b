/**
 * A private OpenLDAP (slapd) for a test file: a slapd.conf with an mdb database under dc=hermod,dc=test,
 * seeded offline with slapadd, then slapd on a free loopback port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, type ServerProcess, startProcess, tempDir } from './common.js';

export const LDAP_BASE = 'dc=hermod,dc=test';
export const LDAP_ADMIN = `cn=admin,${LDAP_BASE}`;
export const LDAP_ADMIN_PASSWORD = 'ldap-secret';

/** Starts slapd with `ldif` loaded (entries under LDAP_BASE; the base entry is added here). */
export async function startSlapd(ldif: string): Promise<ServerProcess> {
  const port = await freePort();
  const dir = tempDir('slapd');
  const db = join(dir, 'db');
  run('mkdir', ['-p', db]);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ${join(dir, 'slapd.pid')}
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "${LDAP_BASE}"
rootdn "${LDAP_ADMIN}"
rootpw ${LDAP_ADMIN_PASSWORD}
directory ${db}
access to attrs=userPassword by self read by anonymous auth by * none
access to * by * read
`,
  );
  const seed = join(dir, 'seed.ldif');
  writeFileSync(
    seed,
    `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: hermod\no: Hermod\n\n${ldif}`,
  );
  run('slapadd', ['-f', conf, '-l', seed]);
  // -d 0 keeps slapd in the foreground so the test owns the process.
  return startProcess(
    'slapd',
    '/usr/sbin/slapd',
    ['-f', conf, '-h', `ldap://127.0.0.1:${port}/`, '-d', '0'],
    port,
    dir,
  );
}
