import type { ServerProcess } from '../helpers/servers/common.js';
import { MY_DATABASE, MY_PASSWORD, MY_USER, startMariadb } from '../helpers/servers/mariadb.js';
import { seedRows, sqlSuite } from './sql-suite.js';

let sql: ((text: string) => string) | undefined;

sqlSuite({
  name: 'mysql',
  async start() {
    const s = await startMariadb();
    sql = s.sql;
    s.sql(
      `CREATE TABLE mqtt_user (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255) UNIQUE, password_hash VARCHAR(255), salt VARCHAR(64), is_superuser VARCHAR(16));
       CREATE TABLE mqtt_acl (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255), permission VARCHAR(8), action VARCHAR(16), topic VARCHAR(255), qos VARCHAR(16), retain VARCHAR(8));
       ${seedRows()}`,
    );
    return s;
  },
  async exec(_s: ServerProcess, text: string) {
    sql!(`${text};`);
  },
  connection: (s) => ({
    server: `127.0.0.1:${s.port}`,
    database: MY_DATABASE,
    username: MY_USER,
    password: MY_PASSWORD,
  }),
});
