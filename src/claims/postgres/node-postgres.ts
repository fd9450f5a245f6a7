// The node-postgres adapter: a pg.Pool behind the SqlClient interface. Every wait is
// bounded; errors get a stable code and never carry the connection string or password.
import { ClaimAuthorityError, type ClaimAuthorityErrorCode } from '../errors.js';
import { passwordsOf, redact } from '../redact.js';
import type { SqlClient, SqlRow, SqlStatement } from './sql-client.js';

export interface NodePostgresOptions {
  connectionString: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Time to open a connection, or to wait for a free one from a full pool. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout. Default 5000 ms. */
  statementTimeoutMs?: number;
  /** Server-side lock_timeout: the longest a statement waits for an item's row lock. Default 2000 ms. */
  lockTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout. Default 10000 ms. */
  idleInTransactionTimeoutMs?: number;
  /** Client-side bound on one round trip, for a server that stops answering. Default statementTimeoutMs + 2000 ms. */
  queryTimeoutMs?: number;
  /** How long an idle pooled connection is kept. Default 10000 ms. */
  idleTimeoutMs?: number;
  /** Told about errors of idle pooled connections (already redacted); they are otherwise dropped. */
  onIdleError?: (error: ClaimAuthorityError) => void;
  applicationName?: string;
}

export interface NodePostgresAvailability {
  available: boolean;
  version: string | null;
  /** Why not, and what to do. */
  reason: string | null;
}

/** Whether the optional `pg` peer dependency can be loaded here. Never throws. */
export async function detectNodePostgres(): Promise<NodePostgresAvailability> {
  try {
    const pg = await import('pg');
    const version = (pg.default as unknown as { version?: string })?.version ?? null;
    return { available: true, version, reason: null };
  } catch {
    return { available: false, version: null, reason: 'the optional pg package is not installed; run `npm install pg` in the runtime that runs dev-nexus' };
  }
}

// SQLSTATE classes and socket codes, mapped to stable codes. `ambiguous`: the statement
// may have committed before the failure, so the caller retries with the same lease token.
const SQLSTATE: Record<string, [ClaimAuthorityErrorCode, boolean, string]> = {
  '40001': ['serialization_failure', false, 'the transaction could not be serialized; retry'],
  '40P01': ['serialization_failure', false, 'a deadlock was detected; retry'],
  '57014': ['statement_timeout', true, 'the statement ran past statement_timeout; retry with the same lease token, and check the database load'],
  '55P03': ['lock_timeout', false, 'the work item row stayed locked past lock_timeout (another session holds it); retry later'],
  '25P03': ['connection_lost', true, 'the session was idle in a transaction for too long and was closed; retry with the same lease token'],
  '3F000': ['schema_missing', false, 'the claim schema does not exist; an operator applies it with `dev-nexus claims schema-sql`'],
  '42P01': ['schema_missing', false, 'the claim tables do not exist; an operator applies them with `dev-nexus claims schema-sql`'],
  '42501': ['permission_denied', false, 'the database role lacks a privilege; apply the grant script from `dev-nexus claims schema-sql`'],
  '28P01': ['connection_failed', false, 'the database refused the password; check the connection-string environment variable'],
  '28000': ['connection_failed', false, 'the database refused the login; check the role and pg_hba.conf'],
  '3D000': ['connection_failed', false, 'the database does not exist; check the connection-string environment variable'],
  '57P01': ['connection_lost', true, 'the server shut the connection down; retry with the same lease token'],
  '57P02': ['connection_lost', true, 'the server crashed; retry with the same lease token'],
  '57P03': ['connection_failed', false, 'the server is starting up or shutting down; retry shortly'],
  '53300': ['connection_failed', false, 'the server has too many connections; lower maxConnections or raise max_connections'],
};

const SOCKET: Record<string, ClaimAuthorityErrorCode> = {
  ECONNREFUSED: 'connection_failed',
  ENOTFOUND: 'connection_failed',
  EAI_AGAIN: 'connection_failed',
  EHOSTUNREACH: 'connection_failed',
  ENETUNREACH: 'connection_failed',
  ECONNRESET: 'connection_lost',
  EPIPE: 'connection_lost',
  ETIMEDOUT: 'connection_timeout',
};

/** Turn whatever pg threw into a ClaimAuthorityError with no secret in it. */
export function toClaimError(error: unknown, secrets: readonly (string | undefined)[], sent: boolean): ClaimAuthorityError {
  const err = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const raw = redact(typeof err.message === 'string' ? err.message : String(error), secrets);
  const known = code ? SQLSTATE[code] : undefined;
  if (known) {
    const [stable, ambiguous, advice] = known;
    return new ClaimAuthorityError(stable, `PostgreSQL error ${code}: ${raw} (${advice})`, { ambiguous, causeCode: code });
  }
  if (code?.startsWith('08')) {
    return new ClaimAuthorityError(sent ? 'connection_lost' : 'connection_failed', `PostgreSQL connection error ${code}: ${raw}; check that the server is reachable and retry`, { ambiguous: sent, causeCode: code });
  }
  const socket = code ? SOCKET[code] : undefined;
  if (socket) {
    return new ClaimAuthorityError(socket, `cannot reach PostgreSQL (${code}: ${raw}); check the host and port in the connection-string environment variable and that the server runs`, { ambiguous: sent && socket !== 'connection_failed', causeCode: code });
  }
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(raw)) {
    return new ClaimAuthorityError('connection_timeout', `no PostgreSQL connection within the connect timeout (${raw}); check that the server answers, or that the pool is not exhausted`);
  }
  if (/Query read timeout/i.test(raw)) {
    return new ClaimAuthorityError('statement_timeout', `PostgreSQL did not answer within the query timeout; retry with the same lease token`, { ambiguous: true });
  }
  if (/Connection terminated|connection ended|Client was closed|not queryable/i.test(raw)) {
    return new ClaimAuthorityError(sent ? 'connection_lost' : 'connection_failed', `the PostgreSQL connection closed (${raw}); retry with the same lease token`, { ambiguous: sent });
  }
  return new ClaimAuthorityError('query_failed', `PostgreSQL statement failed${code ? ` (${code})` : ''}: ${raw}`, { causeCode: code });
}

export async function createNodePostgresClient(options: NodePostgresOptions): Promise<SqlClient> {
  const secrets = [options.connectionString, ...passwordsOf(options.connectionString)];
  let pg: typeof import('pg');
  try {
    pg = await import('pg');
  } catch {
    throw new ClaimAuthorityError('adapter_unavailable', 'the node_postgres adapter needs the optional pg package; run `npm install pg`');
  }
  const Pool = pg.default?.Pool ?? (pg as unknown as { Pool: typeof import('pg').Pool }).Pool;
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10000,
    statement_timeout: statementTimeoutMs,
    lock_timeout: options.lockTimeoutMs ?? 2000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10000,
    query_timeout: options.queryTimeoutMs ?? statementTimeoutMs + 2000,
    application_name: options.applicationName ?? 'dev-nexus-claims',
    // Every statement is correct under READ COMMITTED; pin it so a server default of
    // REPEATABLE READ or SERIALIZABLE costs no retries. (The authority also retries 40001.)
    options: '-c default_transaction_isolation=read\\ committed',
  });
  // An idle connection that dies (server restart, network) emits 'error' on the pool;
  // without a listener that would crash the process.
  pool.on('error', (error) => options.onIdleError?.(toClaimError(error, secrets, false)));
  let closed = false;

  return {
    async query<Row extends SqlRow>(statement: SqlStatement, values: readonly unknown[]): Promise<Row[]> {
      let client: import('pg').PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw toClaimError(error, secrets, false);
      }
      let broken: Error | undefined;
      // pg-pool drops its own error listener while a client is checked out; a connection that
      // dies between two protocol messages would otherwise crash the process.
      const onError = (error: Error) => {
        broken = toClaimError(error, secrets, true);
      };
      client.on('error', onError);
      try {
        const result = await client.query<Row>({ name: statement.name, text: statement.text, values: values as unknown[] });
        return result.rows;
      } catch (error) {
        const claimError = toClaimError(error, secrets, true);
        if (claimError.code.startsWith('connection') || claimError.code === 'statement_timeout') broken = claimError;
        throw claimError;
      } finally {
        client.removeListener('error', onError);
        // A connection that failed mid-statement is discarded, not returned to the pool.
        client.release(broken);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
