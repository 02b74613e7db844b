/** API errors as EMQX returns them: an HTTP status and a `{code, message}` body. */
import { Type } from '@sinclair/typebox';

/** Thrown by a handler; the server's error handler turns it into the response. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST') => new ApiError(400, code, message);
export const notFound = (message: string, code = 'NOT_FOUND') => new ApiError(404, code, message);

/** The error body schema (for the OpenAPI document). */
export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });

/** The codes `GET /error_codes` lists, with what they mean (EMQX's common set plus the API-specific ones). */
export const ERROR_CODES: Record<string, string> = {
  WRONG_USERNAME_OR_PWD: 'Wrong username or pwd',
  WRONG_USERNAME_OR_PWD_OR_API_KEY_OR_API_SECRET: 'Wrong username & pwd or key & secret',
  BAD_REQUEST: 'Request parameters are not legal',
  NOT_MATCH: 'Conditions are not matched',
  ALREADY_EXISTS: 'Resource already existed',
  BAD_CONFIG_SCHEMA: 'Configuration data is not legal',
  BAD_LISTENER_ID: 'Bad listener ID',
  BAD_NODE_NAME: 'Bad Node Name',
  BAD_RPC: 'RPC Failed. Check the cluster status and the requested node status',
  BAD_TOPIC: 'Topic syntax error, Topic needs to comply with the MQTT protocol standard',
  EXCEED_LIMIT: 'Create resources that exceed the maximum limit or minimum limit',
  INVALID_PARAMETER: 'Request parameters is not legal and exceeds the boundary value',
  CONFLICT: 'Conflicting request resources',
  NO_DEFAULT_VALUE: 'Request parameters do not use default values',
  DEPENDENCY_EXISTS: 'Resource is dependent by another resource',
  MESSAGE_ID_SCHEMA_ERROR: 'Message ID parsing error',
  INVALID_ID: 'Bad ID schema',
  MESSAGE_ID_NOT_FOUND: 'Message ID does not exist',
  NOT_FOUND: 'Resource was not found or does not exist',
  CLIENTID_NOT_FOUND: 'Client ID was not found or does not exist',
  CLIENT_NOT_FOUND: 'Client was not found or does not exist(usually not a MQTT client)',
  RESOURCE_NOT_FOUND: 'Resource not found',
  TOPIC_NOT_FOUND: 'Topic not found',
  USER_NOT_FOUND: 'User not found',
  INTERNAL_ERROR: 'Server inter error',
  SERVICE_UNAVAILABLE: 'Service unavailable',
  SOURCE_ERROR: 'Source error',
  UPDATE_FAILED: 'Update failed',
  REST_FAILED: 'Reset source or config failed',
  CLIENT_NOT_RESPONSE: 'Client not responding',
  NOT_SUPPORTED: 'Not supported',
  NODE_DOWN: 'Node down',
  BAD_USERNAME_OR_PWD: 'Bad username or password',
  BAD_API_KEY_OR_SECRET: 'Bad API key or secret',
  API_KEY_NOT_ALLOW: 'API key is not allowed on this path',
  BAD_TOKEN: 'Bad token',
  TOKEN_TIME_OUT: 'Token expired',
  AUTHORIZATION_HEADER_ERROR: 'Missing or malformed Authorization header',
  UNAUTHORIZED_ROLE: 'The role of the caller does not permit this call',
  TOO_MANY_REQUESTS: 'Too many login attempts; try again later',
  ERROR_PWD_NOT_MATCH: 'Old password does not match',
  NOT_ALLOWED: 'Operation not allowed',
  NOT_IMPLEMENTED: 'Not implemented',
};

/** Schema of an empty 204 response. */
export const NoContent = Type.Null({ description: 'No Content' });
