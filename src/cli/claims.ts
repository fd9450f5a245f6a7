// dev-nexus claims ...: operator commands for the PostgreSQL claim authority.
import type { Command } from 'commander';
import type { Blocked } from '../automation/authority.js';
import { auditClaims, inspectClaims } from '../automation/inspect.js';
import type { AuditReport } from '../claims/audit.js';
import { DEFAULT_CLAIM_SCHEMA, renderClaimAuthorityGrantSql, renderClaimAuthoritySchemaSql } from '../claims/postgres/schema.js';
import type { ClaimRecord, InspectResult } from '../claims/types.js';
import { integerFlag, workspaceInput, workspaceOptions, type WorkspaceFlags } from './flags.js';
import { action, CliError, EXIT_BLOCKED, printResult } from './output.js';

export function registerClaimsCommands(program: Command): void {
  const claims = program.command('claims').description('operate the PostgreSQL claim authority (schema, inspection, audit)');

  claims
    .command('schema-sql')
    .description('print the DDL of the claim authority and the grant script for its runtime role; never applies it')
    .option('--schema <name>', 'schema to create (a plain lower-case SQL identifier)', DEFAULT_CLAIM_SCHEMA)
    .option('--runtime-role <role>', 'role that coordinators connect as; gets only the DML it needs', 'dev_nexus_runtime')
    .option('--no-grants', 'print the DDL only')
    .option('--json', 'print one JSON object: { ok, schemaSql, grantSql }')
    .addHelpText('after', '\nApply the output with your migration process, e.g.:\n  dev-nexus claims schema-sql --schema dev_nexus | psql "$ADMIN_DATABASE_URL"\n')
    .action(
      action(async (options: { schema: string; runtimeRole: string; grants: boolean; json?: boolean }) => {
        const schemaSql = renderClaimAuthoritySchemaSql(options.schema);
        const grantSql = options.grants ? renderClaimAuthorityGrantSql(options.runtimeRole, options.schema) : null;
        if (options.json) printResult(options, { schema: options.schema, schemaSql, grantSql }, () => '');
        else process.stdout.write(grantSql ? `${schemaSql}\n${grantSql}` : schemaSql);
      }),
    );

  workspaceOptions(
    claims
      .command('inspect')
      .description('list active, stale (expired, not reclaimed) and released claims of the project, judged at one database instant')
      .argument('<workspace-root>', 'workspace holding dev-nexus.project.json')
      .option('--limit <n>', 'at most this many claims, most recently changed first', '1000'),
  ).action(
    action(async (workspaceRoot: string, flags: WorkspaceFlags & { limit: string }) => {
      const inspect = unblocked(await inspectClaims({ ...workspaceInput(workspaceRoot, flags), limit: integerFlag('--limit', flags.limit, '100') }));
      printResult(flags, { inspect }, () => describeInspect(inspect));
    }),
  );

  workspaceOptions(
    claims
      .command('audit')
      .description('check the audit log: no two leases of an item overlapped in database time, fencing tokens strictly increased, no stale lease was accepted')
      .argument('<workspace-root>', 'workspace holding dev-nexus.project.json'),
  )
    .addHelpText('after', '\nExit code 1 when a violation is found; the report lists each one. Needs the postgres backend.\n')
    .action(
      action(async (workspaceRoot: string, flags: WorkspaceFlags) => {
        const audit = unblocked(await auditClaims(workspaceInput(workspaceRoot, flags)));
        if (flags.json) process.stdout.write(`${JSON.stringify({ ok: audit.ok, audit })}\n`);
        else process.stdout.write(`${describeAudit(audit)}\n`);
        if (!audit.ok) process.exitCode = 1;
      }),
    );
}

function unblocked<T>(result: T | Blocked): T {
  const blocked = result as Blocked;
  if (blocked?.status === 'blocked' && blocked.readiness) throw new CliError('blocked', `the claim authority is not ready: ${blocked.reason}`, EXIT_BLOCKED);
  return result as T;
}

function line(claim: ClaimRecord): string {
  const who = `${claim.owner.hostId}${claim.owner.agentId ? `/${claim.owner.agentId}` : ''}`;
  const until = claim.state === 'released' ? `released ${claim.releasedAt}` : `until ${claim.expiresAt}`;
  return `  ${claim.identity.trackerId}/${claim.identity.workItemId}  fencing ${claim.fencingToken}  ${who}  ${until}  heartbeats ${claim.heartbeatCount}`;
}

function describeInspect(inspect: InspectResult): string {
  const section = (title: string, claims: ClaimRecord[]) => [`${title} (${claims.length})`, ...claims.map(line)];
  return [`database time ${inspect.dbNow}`, ...section('active', inspect.active), ...section('stale', inspect.stale), ...section('released', inspect.released)].join('\n');
}

function describeAudit(audit: AuditReport): string {
  const head = `${audit.ok ? 'audit passed' : 'AUDIT FAILED'}: ${audit.itemsChecked} items, ${audit.eventsChecked} events, ${audit.grants} grants, ${audit.violations.length} violations`;
  return [head, ...audit.violations.map((v) => `  ${v.kind} ${v.identity.trackerId}/${v.identity.workItemId} (event ${v.eventId}): ${v.detail}`)].join('\n');
}
