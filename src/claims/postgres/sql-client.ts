// The small SQL-client interface the PostgreSQL authority runs on. The node-postgres
// adapter implements it for production; tests use fakes for error paths and fault injection.

/** A named statement: adapters may prepare it once per connection under its name. */
export interface SqlStatement {
  name: string;
  text: string;
}

export type SqlRow = Record<string, unknown>;

export interface SqlClient {
  /**
   * Run one statement as its own transaction (autocommit) and return its rows.
   * Failures are ClaimAuthorityError with a stable code and no secret in the message.
   */
  query<Row extends SqlRow = SqlRow>(statement: SqlStatement, values: readonly unknown[]): Promise<Row[]>;
  /** Release connections; the client is unusable afterwards. */
  close(): Promise<void>;
}
