// toClaimError: whatever node-postgres throws becomes a ClaimAuthorityError with a stable
// code, the right `ambiguous` flag, and no connection string or password in it.
import { describe, expect, it } from 'vitest';
import { ClaimAuthorityError, type ClaimAuthorityErrorCode } from '../../src/claims/errors.js';
import { toClaimError } from '../../src/claims/postgres/node-postgres.js';
import { passwordOf } from '../../src/claims/redact.js';

const PASSWORD = 'Tr0ub4dor&3@x!';
const URL_STRING = `postgres://claims_app:${encodeURIComponent(PASSWORD)}@db.internal:5432/claims`;
const KV_STRING = `host=db.internal user=claims_app password='${PASSWORD}' dbname=claims`;

/** An error shaped like node-postgres's: a message, and a SQLSTATE or socket code. */
function pgError(message: string, code?: string): Error & { code?: string } {
  const error: Error & { code?: string } = new Error(message);
  if (code !== undefined) error.code = code;
  return error;
}

type Case = [label: string, code: string | undefined, message: string, sent: boolean, expected: ClaimAuthorityErrorCode, ambiguous: boolean];

const cases: Case[] = [
  ['SQLSTATE 40001', '40001', 'could not serialize access due to concurrent update', true, 'serialization_failure', false],
  ['SQLSTATE 40P01', '40P01', 'deadlock detected', true, 'serialization_failure', false],
  ['SQLSTATE 57014', '57014', 'canceling statement due to statement timeout', true, 'statement_timeout', true],
  ['SQLSTATE 55P03', '55P03', 'canceling statement due to lock timeout', true, 'lock_timeout', false],
  ['SQLSTATE 25P03', '25P03', 'terminating connection due to idle-in-transaction timeout', true, 'connection_lost', true],
  ['SQLSTATE 3F000', '3F000', 'schema "dev_nexus" does not exist', true, 'schema_missing', false],
  ['SQLSTATE 42P01', '42P01', 'relation "dev_nexus.work_item_claims" does not exist', true, 'schema_missing', false],
  ['SQLSTATE 42501', '42501', 'permission denied for table work_item_claims', true, 'permission_denied', false],
  ['SQLSTATE 28P01', '28P01', 'password authentication failed for user "claims_app"', false, 'connection_failed', false],
  ['SQLSTATE 28000', '28000', 'no pg_hba.conf entry for host', false, 'connection_failed', false],
  ['SQLSTATE 3D000', '3D000', 'database "claims" does not exist', false, 'connection_failed', false],
  ['SQLSTATE 57P01', '57P01', 'terminating connection due to administrator command', true, 'connection_lost', true],
  ['SQLSTATE 57P02', '57P02', 'terminating connection because of crash of another server process', true, 'connection_lost', true],
  ['SQLSTATE 57P03', '57P03', 'the database system is starting up', false, 'connection_failed', false],
  ['SQLSTATE 53300', '53300', 'sorry, too many clients already', false, 'connection_failed', false],
  ['SQLSTATE 08006 sent', '08006', 'connection failure', true, 'connection_lost', true],
  ['SQLSTATE 08006 not sent', '08006', 'connection failure', false, 'connection_failed', false],
  ['SQLSTATE 08001 not sent', '08001', 'could not establish connection', false, 'connection_failed', false],
  ['ECONNREFUSED sent', 'ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432', true, 'connection_failed', false],
  ['ECONNREFUSED not sent', 'ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432', false, 'connection_failed', false],
  ['ENOTFOUND', 'ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal', false, 'connection_failed', false],
  ['ECONNRESET sent', 'ECONNRESET', 'read ECONNRESET', true, 'connection_lost', true],
  ['ECONNRESET not sent', 'ECONNRESET', 'read ECONNRESET', false, 'connection_lost', false],
  ['EPIPE sent', 'EPIPE', 'write EPIPE', true, 'connection_lost', true],
  ['ETIMEDOUT sent', 'ETIMEDOUT', 'connect ETIMEDOUT', true, 'connection_timeout', true],
  ['ETIMEDOUT not sent', 'ETIMEDOUT', 'connect ETIMEDOUT', false, 'connection_timeout', false],
  ['pool connect timeout', undefined, 'timeout exceeded when trying to connect', false, 'connection_timeout', false],
  ['connection timeout termination', undefined, 'Connection terminated due to connection timeout', false, 'connection_timeout', false],
  ['query read timeout', undefined, 'Query read timeout', true, 'statement_timeout', true],
  ['connection terminated sent', undefined, 'Connection terminated unexpectedly', true, 'connection_lost', true],
  ['connection terminated not sent', undefined, 'Connection terminated unexpectedly', false, 'connection_failed', false],
  ['client closed', undefined, 'Client was closed and is not queryable', false, 'connection_failed', false],
  ['unknown SQLSTATE', '22P02', 'invalid input syntax for type bigint', true, 'query_failed', false],
  ['unknown error without code', undefined, 'something odd happened', true, 'query_failed', false],
];

describe('toClaimError', () => {
  it.each(cases)('%s → code and ambiguity', (_label, code, message, sent, expected, ambiguous) => {
    const error = toClaimError(pgError(message, code), [URL_STRING, passwordOf(URL_STRING)], sent);
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    expect(error.code).toBe(expected);
    expect(error.ambiguous).toBe(ambiguous);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it.each(cases.filter(([, code]) => code !== undefined && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')))('%s keeps the SQLSTATE as cause_code', (_label, code, message, sent) => {
    const error = toClaimError(pgError(message, code), [], sent);
    expect(error.cause_code).toBe(code);
    expect(error.message).toContain(code);
  });

  it('keeps the socket code as cause_code', () => {
    expect(toClaimError(pgError('read ECONNRESET', 'ECONNRESET'), [], true).cause_code).toBe('ECONNRESET');
  });

  // Every mapping, with the connection string and the password spliced into pg's message in
  // the ways they could appear: the whole URL, the decoded password, a key=value fragment.
  const connectionStrings = [
    ['URL', URL_STRING],
    ['key=value', KV_STRING],
  ] as const;
  it.each(connectionStrings.flatMap(([form, connectionString]) => cases.map((c) => [form, ...c, connectionString] as const)))(
    '%s connection string, %s: the message holds neither the connection string nor the password',
    (_form, _label, code, message, sent, expected, _ambiguous, connectionString) => {
      const password = passwordOf(connectionString);
      expect(password).toBe(PASSWORD);
      const leaky = `${message} (while connecting with ${connectionString}; password "${PASSWORD}"; password=${PASSWORD})`;
      const error = toClaimError(pgError(leaky, code), [connectionString, password], sent);
      expect(error.code).toBe(expected);
      for (const text of [error.message, JSON.stringify(error), String(error)]) {
        expect(text).not.toContain(connectionString);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
        expect(text).not.toContain('Tr0ub4dor');
      }
      // The redaction keeps the rest of the message useful.
      if (expected !== 'statement_timeout' || code !== undefined) expect(error.message).toContain(message);
    },
  );

  it('redacts URL credentials even when the secrets list is empty', () => {
    const error = toClaimError(pgError(`could not connect to postgres://claims_app:Zx9secretQ@db/claims`, 'ECONNREFUSED'), [], false);
    expect(error.message).not.toContain('Zx9secretQ');
    expect(error.message).toContain('[redacted]');
  });

  it('handles non-Error values: strings, undefined and objects with odd fields', () => {
    const fromString = toClaimError(`boom ${URL_STRING}`, [URL_STRING, PASSWORD], true);
    expect(fromString.code).toBe('query_failed');
    expect(fromString.message).not.toContain('Tr0ub4dor');
    expect(toClaimError(undefined, [], false).code).toBe('query_failed');
    expect(toClaimError(null, [], false).code).toBe('query_failed');
    const odd = toClaimError({ code: 40001, message: 42 }, [], true);
    expect(odd.code).toBe('query_failed');
    expect(odd.cause_code).toBeUndefined();
  });
});
