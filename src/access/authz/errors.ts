/** Errors of the authorization service, with codes the API maps to HTTP answers. */

/** An error with an API code. */
export class AuthzError extends Error {
  constructor(
    readonly code: 'ALREADY_EXISTS' | 'NOT_FOUND' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
    this.name = 'AuthzError';
  }
}
