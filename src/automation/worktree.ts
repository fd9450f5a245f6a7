// worktree prepare: a git worktree and branch for the launch's claimed item, at
// <workspace>/.dev-nexus/worktrees/<work-item-id> on branch dev-nexus/<work-item-id>.
// Guarded: the claim is verified at the authority before git changes anything, so a stale
// owner cannot start a second line of work on an item someone else now holds. Idempotent: a
// retry after a crash finds the worktree it made. git runs through execFile (no shell).
import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { defaultAuthorityDeps, type AuthorityDeps } from './authority.js';
import { AutomationError } from './errors.js';
import { verifyCurrentClaim } from './guard.js';
import { requireAuthority, withAgentSession, type AgentSessionInput } from './session.js';

export const WORKTREES_DIRECTORY = path.join('.dev-nexus', 'worktrees');
const GIT_TIMEOUT_MS = 60_000;

export interface PreparedWorktree {
  runId: string;
  workItemId: string;
  fencingToken: number;
  branch: string;
  path: string;
  /** False when the worktree already existed (a retry). */
  created: boolean;
}

export function worktreeBranch(workItemId: string): string {
  return `dev-nexus/${workItemId}`;
}

export async function prepareWorktree(input: AgentSessionInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<PreparedWorktree> {
  return withAgentSession(input, deps, async (session) => {
    const { context } = session;
    await verifyCurrentClaim(context, requireAuthority(session), 'worktree preparation');
    const git = gitIn(context.workspaceRoot, session.workspace.env);
    await requireRepository(git, context.workspaceRoot);
    const branch = worktreeBranch(context.workItemId);
    const target = path.join(context.workspaceRoot, WORKTREES_DIRECTORY, context.workItemId);
    const base = { runId: context.runId, workItemId: context.workItemId, fencingToken: context.fencingToken, branch, path: target };
    if (await isExistingWorktree(git, target, branch)) return { ...base, created: false };
    if (await exists(target)) {
      throw new AutomationError('git_failed', `${target} exists but is not a git worktree of ${context.workspaceRoot}; move it away, then prepare the worktree again`);
    }
    // A branch left by an earlier run whose worktree was removed is reused, not recreated.
    const branchExists = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => null)) !== null;
    await git(branchExists ? ['worktree', 'add', target, branch] : ['worktree', 'add', '-b', branch, target, 'HEAD']);
    return { ...base, created: true };
  });
}

type Git = (args: string[]) => Promise<string>;

function gitIn(cwd: string, env: NodeJS.ProcessEnv): Git {
  // The host environment may be a partial one (tests): keep PATH and git's own settings from ours.
  const childEnv = { ...process.env, ...env, GIT_TERMINAL_PROMPT: '0' };
  return (args) =>
    new Promise((resolve, reject) => {
      execFile('git', args, { cwd, env: childEnv, timeout: GIT_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        const detail = code === 'ENOENT' ? 'git is not installed or not on PATH' : (stderr.trim() || error.message).split('\n').slice(0, 3).join(' ');
        reject(new AutomationError('git_failed', `git ${args.slice(0, 2).join(' ')} failed in ${cwd}: ${detail}`));
      });
    });
}

async function requireRepository(git: Git, root: string): Promise<void> {
  try {
    await git(['rev-parse', '--show-toplevel']);
  } catch (error) {
    if (/not installed/.test((error as Error).message)) throw error;
    throw new AutomationError('not_a_git_repository', `${root} is not inside a git repository, so no worktree can be made; run \`git init\` there (and commit once), or launch from a workspace that is a git checkout`);
  }
  if ((await git(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => null)) === null) {
    throw new AutomationError('git_failed', `the git repository at ${root} has no commits yet, so there is nothing to branch from; commit once (for example \`git commit --allow-empty -m init\`), then prepare the worktree again`);
  }
}

/** True when git already lists `target` as a worktree on `branch`; a worktree on another branch is an error. */
async function isExistingWorktree(git: Git, target: string, branch: string): Promise<boolean> {
  const wanted = await realpath(target).catch(() => null);
  if (wanted === null) return false;
  const listing = await git(['worktree', 'list', '--porcelain']);
  for (const block of listing.split('\n\n')) {
    const lines = block.split('\n');
    const dir = lines.find((l) => l.startsWith('worktree '))?.slice('worktree '.length);
    if (!dir || (await realpath(dir).catch(() => dir)) !== wanted) continue;
    const head = lines.find((l) => l.startsWith('branch '))?.slice('branch '.length) ?? '(detached)';
    if (head === `refs/heads/${branch}`) return true;
    throw new AutomationError('git_failed', `${target} is a git worktree on ${head}, not on ${branch}; remove it with \`git worktree remove ${target}\`, then prepare the worktree again`);
  }
  return false;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
