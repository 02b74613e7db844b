/** The authentication providers Hermod ships (plugins add theirs with AuthnService.registerProvider). */
import { builtInDbProvider } from './backends/built-in-db.js';
import { httpProvider } from './backends/http.js';
import { jwtProvider } from './backends/jwt.js';
import { ldapProvider } from './backends/ldap.js';
import { mongodbProvider } from './backends/mongodb.js';
import { redisProvider } from './backends/redis.js';
import { scramProvider } from './backends/scram.js';
import { mysqlProvider, postgresqlProvider } from './backends/sql.js';
import type { AuthnProvider } from './types.js';

export const BUILT_IN_AUTHN_PROVIDERS: readonly AuthnProvider[] = [
  builtInDbProvider,
  mysqlProvider,
  postgresqlProvider,
  redisProvider,
  mongodbProvider,
  httpProvider,
  ldapProvider,
  jwtProvider,
  scramProvider,
];
