/** The authorization source types Hermod ships (plugins add theirs with AuthzService.registerProvider). */
import { builtInDbSource } from './sources/built-in-db.js';
import { fileSource } from './sources/file.js';
import { httpSource } from './sources/http.js';
import { mongodbSource } from './sources/mongodb.js';
import { redisSource } from './sources/redis.js';
import { mysqlSource, postgresqlSource } from './sources/sql.js';
import type { AuthzSourceProvider } from './types.js';

export const BUILT_IN_AUTHZ_PROVIDERS: readonly AuthzSourceProvider[] = [
  fileSource,
  builtInDbSource,
  mysqlSource,
  postgresqlSource,
  redisSource,
  mongodbSource,
  httpSource,
];
