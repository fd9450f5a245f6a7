// dev-nexus automation current-agent ...: what a launched agent runs to renew its claim and
// to record how its work ended. Parse, call the use case, print.
import { Option, type Command } from 'commander';
import { currentAgentHeartbeat, currentAgentRecord } from '../automation/current-agent.js';
import { RUN_OUTCOMES, type RunOutcome } from '../automation/context.js';
import { action, printFaceResult } from './output.js';
import { currentAgentHeartbeatResult, currentAgentRecordResult } from './results.js';
import { integerFlag } from './flags.js';

interface CommonOptions {
  home?: string;
  json?: boolean;
}

export function registerCurrentAgentCommands(automation: Command): Command {
  const group = automation
    .command('current-agent')
    .description('commands for the agent a launch started; they find the run through DEV_NEXUS_AGENT_CONTEXT_FILE')
    .addHelpText(
      'after',
      `
Exit codes: 0 done; 1 error; 3 refused (claim_lost: the claim is no longer this run's); 4 blocked (the claim authority is not ready).

Examples (inside a launched agent):
  dev-nexus automation current-agent heartbeat . --json
  dev-nexus automation current-agent record . --outcome completed --summary "fixed and tested" --json
`,
    );
  registerHeartbeat(group);
  registerRecord(group);
  return group;
}

function registerHeartbeat(group: Command): void {
  group
    .command('heartbeat')
    .description('renew the current launch\'s claim for the configured lease (run it at least every DEV_NEXUS_CLAIM_HEARTBEAT_INTERVAL_MS)')
    .argument('<workspace-root>', 'the workspace of the launch')
    .option('--home <path>', 'dev-nexus home (default: DEV_NEXUS_HOME, set by the launch)')
    .option('--lease-duration-ms <n>', 'renew for this long instead of automation.workItemClaims.leaseDurationMs')
    .option('--json', 'print one JSON object: { ok, claim, dbNow, runId, workItemId }')
    .action(
      action(
        async (root: string, options: CommonOptions & { leaseDurationMs?: string }) => {
          const leaseDurationMs = integerFlag('--lease-duration-ms', options.leaseDurationMs, '3600000');
          const result = await currentAgentHeartbeat({ workspaceRoot: root, home: options.home, leaseDurationMs, env: process.env });
          printFaceResult(options, currentAgentHeartbeatResult(result), () => `renewed the claim on ${result.workItemId} (fencing token ${result.claim.fencingToken}) until ${result.claim.expiresAt}`);
        },
      ),
    );
}

function registerRecord(group: Command): void {
  group
    .command('record')
    .description('record the run\'s outcome: completed (only while the claim is still yours; releases it and marks the item done), blocked or failed (always recorded)')
    .argument('<workspace-root>', 'the workspace of the launch')
    .addOption(new Option('--outcome <outcome>', 'how the work ended').choices(RUN_OUTCOMES).makeOptionMandatory())
    .option('--summary <text>', 'what was done, or why it stopped (posted on the work item)')
    .option('--home <path>', 'dev-nexus home (default: DEV_NEXUS_HOME, set by the launch)')
    .option('--json', 'print one JSON object: { ok, runId, workItemId, outcome, claim, workItemStatus, warnings }')
    .action(
      action(
        async (root: string, options: CommonOptions & { outcome: RunOutcome; summary?: string }) => {
          const result = await currentAgentRecord({ workspaceRoot: root, home: options.home, outcome: options.outcome, summary: options.summary, env: process.env });
          printFaceResult(options, currentAgentRecordResult(result), () =>
            [
              `recorded ${result.outcome.outcome} for ${result.workItemId} (run ${result.runId}); claim ${result.outcome.claimReleased ? 'released' : 'not released'}${result.workItemStatus ? `; item is now ${result.workItemStatus}` : ''}`,
              ...result.warnings.map((w) => `warning: ${w}`),
            ].join('\n'),
          );
        },
      ),
    );
}
