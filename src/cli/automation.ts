// dev-nexus automation ...: readiness now; launch and current-agent register on this group.
import type { Command } from 'commander';
import { checkReadiness } from '../automation/authority.js';
import type { ClaimReadiness } from '../automation/readiness.js';
import { openWorkspace } from '../automation/workspace.js';
import { workspaceInput, workspaceOptions, type WorkspaceFlags } from './flags.js';
import { action, printFaceResult } from './output.js';
import { EXIT_BLOCKED, statusResult } from './results.js';

interface StatusFlags extends WorkspaceFlags {
  checkConnection?: boolean;
}

export function registerAutomationCommands(program: Command): Command {
  const automation = program.command('automation').description('coordinator automation: readiness, launch, and the current agent\'s claim');
  workspaceOptions(
    automation
      .command('status')
      .description('report whether the configured claim authority is ready on this host (run before enabling a coordinator loop)')
      .argument('<workspace-root>', 'workspace holding dev-nexus.project.json')
      .option('--check-connection', 'also connect, and check that the claim schema exists at the expected version'),
  )
    .addHelpText('after', `
Reports the backend, the PostgreSQL profile id, whether this host has that profile, whether its
connection-string environment variable is set (never its value), whether the node_postgres adapter
(the optional pg package) is available, and with --check-connection the database and schema.
Exit code ${EXIT_BLOCKED} when not ready.

Example:
  dev-nexus automation status . --home ~/.dev-nexus --check-connection --json`)
    .action(
      action(async (workspaceRoot: string, flags: StatusFlags) => {
        const workspace = await openWorkspace(workspaceInput(workspaceRoot, flags));
        const status = await checkReadiness(workspace, { checkConnection: flags.checkConnection });
        printFaceResult(flags, statusResult(status), () => describeStatus(status));
      }),
    );
  return automation;
}

function yesNo(value: boolean | null): string {
  return value === null ? '-' : value ? 'yes' : 'NO';
}

function describeStatus(status: ClaimReadiness): string {
  const lines = [
    `claims:              ${status.enabled ? 'enabled' : 'disabled'}`,
    `backend:             ${status.backend}`,
  ];
  if (status.backend === 'postgres') {
    lines.push(
      `profile:             ${status.postgresProfileId ?? '-'} (in ${status.homeFile}: ${yesNo(status.profileExists)})`,
      `connection env var:  ${status.connectionStringEnv ?? '-'} (set: ${yesNo(status.connectionStringEnvPresent)})`,
      `adapter:             node_postgres (available: ${yesNo(status.adapterAvailable)})`,
      `schema:              ${status.schema ?? '-'}`,
    );
  }
  if (status.connection) {
    const c = status.connection;
    lines.push(`database:            ${c.reachable ? 'reachable' : 'NOT reachable'}; schema version ${c.schemaVersion ?? 'none'} (expected ${c.expectedSchemaVersion})`);
  }
  lines.push(`ready:               ${status.ready ? 'yes' : 'NO'}`);
  for (const blocker of status.blockers) lines.push(`  ${blocker.code}: ${blocker.message}`);
  return lines.join('\n');
}
