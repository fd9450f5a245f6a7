export { PostgresClaimAuthority, hashLeaseToken, type PostgresClaimAuthorityOptions } from './authority.js';
export {
  CLAIM_SCHEMA_VERSION,
  DEFAULT_CLAIM_SCHEMA,
  nexusPostgresClaimAuthoritySchemaSql,
  quoteIdentifier,
  renderClaimAuthorityGrantSql,
  renderClaimAuthoritySchemaSql,
} from './schema.js';
export { createNodePostgresClient, detectNodePostgres, toClaimError, type NodePostgresAvailability, type NodePostgresOptions } from './node-postgres.js';
export type { SqlClient, SqlRow, SqlStatement } from './sql-client.js';
