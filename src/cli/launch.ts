// dev-nexus automation launch: claim the next work item, then run the configured agent on it.
// Parse, call the use case, print.
import type { Command } from 'commander';
import { launch, type LaunchResult } from '../automation/launch.js';
import { integerFlag } from './flags.js';
import { EXIT_BLOCKED, action, printResult } from './output.js';

interface LaunchOptions {
  home?: string;
  host: string;
  agent?: string;
  owner?: string;
  component?: string;
  tracker?: string;
  leaseDurationMs?: string;
  killGraceMs?: string;
  json?: boolean;
}

export function registerLaunchCommand(automation: Command): Command {
  return automation
    .command('launch')
    .description('claim the next eligible work item and run automation.agent.command on it (nothing is started without a claim)')
    .argument('<workspace-root>', 'the workspace whose tracker holds the items')
    .option('--home <home-path>', 'dev-nexus home with this host\'s claim authority profiles (default: DEV_NEXUS_HOME, else ~/.dev-nexus)')
    .requiredOption('--host <host-id>', 'this coordinator host\'s id')
    .option('--agent <id>', 'agent id recorded on the claim')
    .option('--owner <id>', 'owner id recorded on the claim (default <host>/<agent>)')
    .option('--component <id>', 'component (default: the primary one)')
    .option('--tracker <id>', 'tracker of the component (default: its default tracker)')
    .option('--lease-duration-ms <n>', 'lease of this claim instead of automation.workItemClaims.leaseDurationMs')
    .option('--kill-grace-ms <n>', 'time between SIGTERM and SIGKILL when the agent is stopped (default 5000)')
    .option('--json', 'print one JSON object: { ok, launch: { claim, run } }')
    .addHelpText(
      'after',
      `
The agent runs with DEV_NEXUS_AGENT_CONTEXT_FILE (its 0600 launch context), DEV_NEXUS_CLAIM_LEASE_DURATION_MS,
DEV_NEXUS_CLAIM_HEARTBEAT_INTERVAL_MS, DEV_NEXUS_CLAIM_AUTHORITY_KIND, DEV_NEXUS_CLAIM_FENCING_TOKEN,
DEV_NEXUS_CLAIM_AUTHORITY_STATE and DEV_NEXUS_HOME; its output goes to the run's agent.log.

Exit codes: 0 launched or nothing to claim (see launch.run.outcome); 1 error; 3 refused (a sync timeout not below the lease); 4 blocked.

Example:
  dev-nexus automation launch . --home ~/.dev-nexus --host build-01 --agent coder --json
`,
    )
    .action(
      action(
        async (root: string, options: LaunchOptions) => {
          const result = await launch({
            workspaceRoot: root,
            home: options.home,
            hostId: options.host,
            agentId: options.agent,
            ownerId: options.owner,
            componentId: options.component,
            trackerId: options.tracker,
            leaseDurationMs: integerFlag('--lease-duration-ms', options.leaseDurationMs, '3600000'),
            killGraceMs: integerFlag('--kill-grace-ms', options.killGraceMs, '5000'),
            env: process.env,
            // A run can last hours: say what is happening, on stderr (stdout stays one JSON object).
            onProgress: (message) => process.stderr.write(`dev-nexus launch: ${message}\n`),
          });
          printResult(options, { launch: result }, () => describe(result));
          if (result.claim.status === 'blocked') process.exitCode = EXIT_BLOCKED;
        },
      ),
    );
}

function describe(result: LaunchResult): string {
  const { claim, run } = result;
  if (!run) return `nothing launched: ${claim.status}${claim.reason ? ` (${claim.reason})` : ''}`;
  const agent = run.agent;
  const ended = agent.error ?? (agent.signal ? `killed by ${agent.signal}` : `exit code ${agent.exitCode}`);
  const stopped = agent.stoppedBy ? `, stopped by ${agent.stoppedBy}` : '';
  return [
    `launched run ${run.runId} on ${claim.workItem?.id} (fencing token ${claim.authorityClaim?.fencingToken}, ${run.mode})`,
    `agent: ${ended}${stopped}; heartbeats: ${run.heartbeats}`,
    `outcome: ${run.outcome.outcome}${run.outcome.reason ? ` (${run.outcome.reason})` : ''}`,
    `log: ${run.logFile}`,
    ...run.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}
