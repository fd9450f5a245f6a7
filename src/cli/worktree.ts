// dev-nexus worktree ...: a git worktree and branch for the launch's claimed item.
import type { Command } from 'commander';
import { prepareWorktree } from '../automation/worktree.js';
import { action, printFaceResult } from './output.js';
import { worktreeResult } from './results.js';

export function registerWorktreeCommands(program: Command): Command {
  const group = program.command('worktree').description('git worktrees for claimed work items');
  group
    .command('prepare')
    .description('create (or find) the git worktree and branch dev-nexus/<work-item-id> for the current launch\'s claimed item; refused when the claim is no longer this run\'s')
    .argument('<workspace-root>', 'the workspace of the launch (a git repository)')
    .option('--home <path>', 'dev-nexus home (default: DEV_NEXUS_HOME, set by the launch)')
    .option('--json', 'print one JSON object: { ok, worktree: { runId, workItemId, fencingToken, branch, path, created } }')
    .addHelpText('after', '\nExit codes: 0 done; 1 error; 3 refused (claim_lost); 4 blocked (the claim authority is not ready).\n\nExample (inside a launched agent):\n  dev-nexus worktree prepare . --json\n')
    .action(
      action(
        async (root: string, options: { home?: string; json?: boolean }) => {
          const worktree = await prepareWorktree({ workspaceRoot: root, home: options.home, env: process.env });
          printFaceResult(options, worktreeResult(worktree), () => `${worktree.created ? 'prepared' : 'found'} worktree ${worktree.path} on branch ${worktree.branch}`);
        },
      ),
    );
  return group;
}
