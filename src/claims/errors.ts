// Infrastructure failures. Every code is stable (scripts match on it); every message says
// what failed and what to do, and never holds a connection string, password or lease token.

export type ClaimAuthorityErrorCode =
  | 'invalid_input'
  | 'adapter_unavailable'
  | 'connection_failed'
  | 'connection_timeout'
  | 'connection_lost'
  | 'statement_timeout'
  | 'lock_timeout'
  | 'serialization_failure'
  | 'schema_missing'
  | 'schema_version_mismatch'
  | 'permission_denied'
  | 'query_failed';

export class ClaimAuthorityError extends Error {
  override readonly name = 'ClaimAuthorityError';
  readonly code: ClaimAuthorityErrorCode;
  /** True when the statement may have committed: retry with the same lease token to learn the outcome. */
  readonly ambiguous: boolean;
  /** The server's SQLSTATE or the socket's error code, when there was one. */
  readonly cause_code: string | undefined;

  constructor(code: ClaimAuthorityErrorCode, message: string, options: { ambiguous?: boolean; causeCode?: string } = {}) {
    super(message);
    this.code = code;
    this.ambiguous = options.ambiguous ?? false;
    this.cause_code = options.causeCode;
  }

  toJSON(): { code: ClaimAuthorityErrorCode; message: string; ambiguous: boolean } {
    return { code: this.code, message: this.message, ambiguous: this.ambiguous };
  }
}

export function invalidInput(message: string): ClaimAuthorityError {
  return new ClaimAuthorityError('invalid_input', message);
}
