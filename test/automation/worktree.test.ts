// worktree prepare: guarded by the claim, idempotent, with a real git and a real PostgreSQL.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prepareWorktree } from '../../src/automation/worktree.js';
import { claimNext } from '../../src/automation/claim-next.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import type { TestWorkspace } from '../support/workspace.js';
import { addItem, claimedRun, expireClaims, postgresWorkspace, projectIdOf } from './fixtures/support.js';

const run = promisify(execFile);
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid' };
const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: gitEnv })).stdout.trim();

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  db = await createTestSchema('worktree');
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((w) => w.cleanup()));
});

async function gitWorkspace(): Promise<TestWorkspace> {
  const ws = await postgresWorkspace(db, made);
  await git(ws.root, 'init', '--quiet', '--initial-branch=main');
  await git(ws.root, 'add', 'dev-nexus.project.json');
  await git(ws.root, 'commit', '--quiet', '-m', 'init');
  return ws;
}

describe('worktree prepare', () => {
  it('creates the worktree and branch for the live owner\'s item, and finds them again on a retry', async () => {
    const ws = await gitWorkspace();
    await addItem(ws, 'wi-1');
    const { env, context } = await claimedRun(ws, 'host-a');
    const target = join(ws.root, '.dev-nexus', 'worktrees', 'wi-1');

    const first = await prepareWorktree({ workspaceRoot: ws.root, env });
    expect(first).toEqual({ runId: context.runId, workItemId: 'wi-1', fencingToken: 1, branch: 'dev-nexus/wi-1', path: target, created: true });
    expect(await git(target, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('dev-nexus/wi-1');
    expect(await git(target, 'rev-parse', 'HEAD')).toBe(await git(ws.root, 'rev-parse', 'main'));
    expect(existsSync(join(target, 'dev-nexus.project.json'))).toBe(true);

    const again = await prepareWorktree({ workspaceRoot: ws.root, env });
    expect(again).toEqual({ ...first, created: false });
    expect((await git(ws.root, 'worktree', 'list', '--porcelain')).match(/^worktree /gm)).toHaveLength(2);

    // The worktree removed by hand but its branch kept: the branch is reused.
    await git(ws.root, 'worktree', 'remove', target);
    expect(await prepareWorktree({ workspaceRoot: ws.root, env })).toEqual(first);
  });

  it('is refused for a stale owner before git changes anything (claim_lost, naming the new holder)', async () => {
    const ws = await gitWorkspace();
    await addItem(ws, 'wi-2');
    const stale = await claimedRun(ws, 'host-a');
    await expireClaims(db, await projectIdOf(ws));
    const winner = await claimNext({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId: 'host-b' });
    expect(winner.status).toBe('claimed');

    const refused = await prepareWorktree({ workspaceRoot: ws.root, env: stale.env }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'claim_lost', holder: { hostId: 'host-b', fencingToken: 2 } });
    expect((refused as Error).message).toMatch(/claimed again by host host-b with fencing token 2, lease until .*; worktree preparation was refused/);
    expect((refused as Error).message).not.toContain(winner.owner!.leaseToken);
    expect(existsSync(join(ws.root, '.dev-nexus', 'worktrees'))).toBe(false);
    expect(await git(ws.root, 'branch', '--list', 'dev-nexus/*')).toBe('');
  });

  it('says so when the workspace is not a git repository, or has no commit to branch from', async () => {
    const plain = await postgresWorkspace(db, made);
    await addItem(plain, 'wi-3');
    const { env } = await claimedRun(plain, 'host-a');
    // The temporary directory must not sit inside some other repository for this to hold.
    const inside = await git(plain.root, 'rev-parse', '--is-inside-work-tree').catch(() => 'false');
    if (inside === 'false') {
      await expect(prepareWorktree({ workspaceRoot: plain.root, env })).rejects.toMatchObject({ code: 'not_a_git_repository', message: expect.stringContaining('git init') });
    }

    const empty = await postgresWorkspace(db, made);
    await git(empty.root, 'init', '--quiet');
    await addItem(empty, 'wi-4');
    const fresh = await claimedRun(empty, 'host-a');
    await expect(prepareWorktree({ workspaceRoot: empty.root, env: fresh.env })).rejects.toMatchObject({ code: 'git_failed', message: expect.stringContaining('has no commits yet') });
  });
});
