/**
 * Seed 002's EMQX 3.x/4.x auth plugin tables for MySQL and PostgreSQL (its CREATE TABLE and INSERT
 * statements, unchanged), shared by the tests that read them.
 */
import pg from 'pg';
import { PG_DATABASE, PG_PASSWORD, PG_USER } from '../helpers/servers/postgres.js';

/** The MySQL tables and ACL rows of EMQX 3.x/4.x's plugin documentation, unchanged. */
export const MYSQL_SEED = `
CREATE TABLE \`mqtt_user\` (
  \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT,
  \`username\` varchar(100) DEFAULT NULL,
  \`password\` varchar(100) DEFAULT NULL,
  \`salt\` varchar(20) DEFAULT NULL,
  \`is_superuser\` tinyint(1) DEFAULT 0,
  \`created\` datetime DEFAULT NULL,
  PRIMARY KEY (\`id\`),
  UNIQUE KEY \`mqtt_username\` (\`username\`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE \`mqtt_acl\` (
  \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT,
  \`allow\` int(1) DEFAULT NULL COMMENT '0: deny, 1: allow',
  \`ipaddr\` varchar(60) DEFAULT NULL COMMENT 'IpAddress',
  \`username\` varchar(100) DEFAULT NULL COMMENT 'Username',
  \`clientid\` varchar(100) DEFAULT NULL COMMENT 'ClientId',
  \`access\` int(2) NOT NULL COMMENT '1: subscribe, 2: publish, 3: pubsub',
  \`topic\` varchar(100) NOT NULL DEFAULT '' COMMENT 'Topic Filter',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

INSERT INTO \`mqtt_acl\` (\`id\`, \`allow\`, \`ipaddr\`, \`username\`, \`clientid\`, \`access\`, \`topic\`)
VALUES
    (1,1,NULL,'$all',NULL,2,'#'),
    (2,0,NULL,'$all',NULL,1,'$SYS/#'),
    (3,0,NULL,'$all',NULL,1,'eq #'),
    (5,1,'127.0.0.1',NULL,NULL,2,'$SYS/#'),
    (6,1,'127.0.0.1',NULL,NULL,2,'#'),
    (7,1,NULL,'dashboard',NULL,1,'$SYS/#');
`;

/** The PostgreSQL tables and ACL rows of EMQX 3.x/4.x's plugin documentation, unchanged. */
export const PG_SEED = `
CREATE TABLE mqtt_user (
  id SERIAL primary key,
  is_superuser boolean,
  username character varying(100),
  password character varying(100),
  salt character varying(40)
);

CREATE TABLE mqtt_acl (
  id SERIAL primary key,
  allow integer,
  ipaddr character varying(60),
  username character varying(100),
  clientid character varying(100),
  access  integer,
  topic character varying(100)
);

INSERT INTO mqtt_acl (id, allow, ipaddr, username, clientid, access, topic)
VALUES
    (1,1,NULL,'$all',NULL,2,'#'),
    (2,0,NULL,'$all',NULL,1,'$SYS/#'),
    (3,0,NULL,'$all',NULL,1,'eq #'),
    (5,1,'127.0.0.1',NULL,NULL,2,'$SYS/#'),
    (6,1,'127.0.0.1',NULL,NULL,2,'#'),
    (7,1,NULL,'dashboard',NULL,1,'$SYS/#');
`;

/** Runs the setup SQL, waiting while the server says it is still starting up (57P03). */
export async function seedPostgres(port: number, sql: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const c = new pg.Client({
      host: '127.0.0.1',
      port,
      user: PG_USER,
      password: PG_PASSWORD,
      database: PG_DATABASE,
    });
    try {
      await c.connect();
    } catch (err) {
      await c.end().catch(() => undefined);
      if ((err as { code?: string }).code !== '57P03' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      await c.query(sql);
      return;
    } finally {
      await c.end();
    }
  }
}
