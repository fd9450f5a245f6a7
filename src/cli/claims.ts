// dev-nexus claims ...: operator commands for the PostgreSQL claim authority.
import type { Command } from 'commander';
import { DEFAULT_CLAIM_SCHEMA, renderClaimAuthorityGrantSql, renderClaimAuthoritySchemaSql } from '../claims/postgres/schema.js';
import { action } from './output.js';

export function registerClaimsCommands(program: Command): void {
  const claims = program.command('claims').description('operate the PostgreSQL claim authority (schema, inspection, audit)');

  claims
    .command('schema-sql')
    .description('print the DDL of the claim authority and the grant script for its runtime role; never applies it')
    .option('--schema <name>', 'schema to create (a plain lower-case SQL identifier)', DEFAULT_CLAIM_SCHEMA)
    .option('--runtime-role <role>', 'role that coordinators connect as; gets only the DML it needs', 'dev_nexus_runtime')
    .option('--no-grants', 'print the DDL only')
    .addHelpText('after', '\nApply the output with your migration process, e.g.:\n  dev-nexus claims schema-sql --schema dev_nexus | psql "$ADMIN_DATABASE_URL"\n')
    .action(
      action(async (options: { schema: string; runtimeRole: string; grants: boolean }) => {
        const ddl = renderClaimAuthoritySchemaSql(options.schema);
        const grants = options.grants ? `\n${renderClaimAuthorityGrantSql(options.runtimeRole, options.schema)}` : '';
        process.stdout.write(`${ddl}${grants}`);
      }),
    );
}
