// dev-nexus init: write a starting dev-nexus.project.json and, optionally, a host-local
// claim authority profile. Parses flags, calls the init use case, prints.
import type { Command } from 'commander';
import { initWorkspace, type ClaimBackend, type InitResult } from '../config/index.js';
import { action, CliError, printResult } from './output.js';

interface InitFlags {
  projectId?: string;
  backend?: string;
  connectionProfile?: string;
  leaseDurationMs?: string;
  heartbeatIntervalMs?: string;
  home?: string;
  profile?: string;
  connectionStringEnv?: string;
  schema?: string;
  force?: boolean;
  json?: boolean;
}

const BACKENDS: readonly ClaimBackend[] = ['optimistic_tracker', 'postgres'];

const HELP_AFTER = `
The project file is portable (commit it); it never holds a database URL. With --home (or any
of --profile, --connection-string-env, --schema) a claim authority profile is added to
<home>/dev-nexus.home.json on this host; it names the environment variable that holds the
connection string, never the string itself. Home: --home, else $DEV_NEXUS_HOME, else ~/.dev-nexus.
Choosing --backend also enables work-item claims. Existing files are kept unless --force.

Examples:
  dev-nexus init .
  dev-nexus init ~/src/shop --backend postgres --connection-profile shared-claims \\
    --home ~/.dev-nexus --connection-string-env DEV_NEXUS_CLAIMS_DATABASE_URL --json
  export DEV_NEXUS_CLAIMS_DATABASE_URL='postgres://user:password@host:5432/dev_nexus'
`;

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a starting dev-nexus.project.json, and optionally a host-local claim authority profile')
    .argument('<workspace-root>', 'directory that gets dev-nexus.project.json')
    .option('--project-id <id>', 'project id (default: the directory name)')
    .option('--backend <kind>', `claim authority: ${BACKENDS.join(' or ')} (enables claims; default optimistic_tracker, disabled)`)
    .option('--connection-profile <id>', 'host-local profile the project uses for postgres (default: --profile, else shared-claims)')
    .option('--lease-duration-ms <n>', 'claim lease in milliseconds (default 3600000 = 60 min)')
    .option('--heartbeat-interval-ms <n>', 'claim renewal interval, at most half the lease (default 1200000 = 20 min)')
    .option('--home <path>', 'dev-nexus home directory whose dev-nexus.home.json gets the profile')
    .option('--profile <id>', 'id of the profile to add (default: the connection profile, else shared-claims)')
    .option('--connection-string-env <NAME>', 'environment variable holding the connection string (default DEV_NEXUS_CLAIMS_DATABASE_URL)')
    .option('--schema <name>', 'PostgreSQL schema of the claim tables (default dev_nexus)')
    .option('--force', 'overwrite an existing project file and replace a profile with the same id')
    .option('--json', 'print exactly one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      action(async (workspaceRoot: string, flags: InitFlags) => {
        const result = await initWorkspace({
          workspaceRoot,
          projectId: flags.projectId,
          backend: backendFlag(flags.backend),
          connectionProfileId: flags.connectionProfile,
          leaseDurationMs: numberFlag('--lease-duration-ms', flags.leaseDurationMs),
          heartbeatIntervalMs: numberFlag('--heartbeat-interval-ms', flags.heartbeatIntervalMs),
          home: flags.home,
          profileId: flags.profile,
          connectionStringEnv: flags.connectionStringEnv,
          schema: flags.schema,
          force: flags.force,
        });
        printResult(flags, { ...result }, () => describe(result));
      }),
    );
}

function backendFlag(value: string | undefined): ClaimBackend | undefined {
  if (value === undefined || (BACKENDS as readonly string[]).includes(value)) return value as ClaimBackend | undefined;
  throw new CliError('invalid_input', `--backend must be ${BACKENDS.join(' or ')}`);
}

// Only the shape is checked here; the config rules (positive, heartbeat <= lease / 2) are
// the config module's, so they read the same whichever way a value arrives.
function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(value.trim())) {
    throw new CliError('invalid_input', `${name} must be a number of milliseconds, for example 3600000`);
  }
  return Number(value);
}

function describe(result: InitResult): string {
  const claims = result.project.config.automation?.workItemClaims;
  const lines = [
    `${result.project.action} ${result.project.file} (project ${result.project.config.projectId}, backend ${claims?.authority?.backend}, claims ${claims?.enabled ? 'enabled' : 'disabled'})`,
  ];
  if (result.home) {
    const p = result.home.profile;
    lines.push(`${result.home.action} profile ${p.id} in ${result.home.file} (connection string from $${p.connectionStringEnv}, schema ${p.schema})`);
  }
  lines.push(...result.warnings.map((w) => `warning: ${w}`), ...result.nextSteps.map((s) => `next: ${s}`));
  return lines.join('\n');
}
