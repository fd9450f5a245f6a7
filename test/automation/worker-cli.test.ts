// The worker-side CLI faces (launch, current-agent, worktree) as processes running dist/:
// exactly one JSON object on stdout under --json, and the exit codes 0 / 1 / 3 (refused) / 4 (blocked).
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claimNext } from '../../src/automation/claim-next.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import type { TestWorkspace } from '../support/workspace.js';
import { addItem, assertFreshBuild, claimedRun, expireClaims, postgresWorkspace, projectIdOf, readReport, setAgent, waitFor } from './fixtures/support.js';

const cli = fileURLToPath(new URL('./fixtures/cli.mjs', import.meta.url));

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('worker_cli');
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((w) => w.cleanup()));
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, any>;
}

function devNexus(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise<Ran>((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr, json: {} });
    });
  }).then((ran) => {
    // --json: exactly one JSON object on stdout, and nothing else.
    const lines = ran.stdout.split('\n').filter(Boolean);
    expect(lines, `stdout of dev-nexus ${args.join(' ')} (stderr: ${ran.stderr.slice(0, 2000)})`).toHaveLength(1);
    return { ...ran, json: JSON.parse(lines[0]!) };
  });
}

describe('dev-nexus automation current-agent / worktree (built)', () => {
  it('heartbeat prints { ok, claim }; without a launch context it fails with no_agent_context (exit 1)', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'cli-beat');
    const { env, context } = await claimedRun(ws, 'host-a');
    const beat = await devNexus(['automation', 'current-agent', 'heartbeat', ws.root, '--json'], env);
    expect(beat.code).toBe(0);
    expect(beat.json).toMatchObject({ ok: true, runId: context.runId, workItemId: 'cli-beat', claim: { fencingToken: 1, heartbeatCount: 1 } });
    expect(beat.stdout).not.toContain(context.owner.leaseToken);

    const none = await devNexus(['automation', 'current-agent', 'heartbeat', ws.root, '--json'], ws.env);
    expect(none).toMatchObject({ code: 1, json: { ok: false, error: { code: 'no_agent_context' } } });
  });

  it('a stale worker: completed and worktree prepare exit 3 (claim_lost), blocked is recorded (exit 0)', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'cli-stale');
    const stale = await claimedRun(ws, 'host-a');
    await expireClaims(db, await projectIdOf(ws));
    const winner = await claimNext({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId: 'host-b' });

    const completed = await devNexus(['automation', 'current-agent', 'record', ws.root, '--outcome', 'completed', '--json'], stale.env);
    expect(completed).toMatchObject({ code: 3, json: { ok: false, error: { code: 'claim_lost', message: expect.stringContaining('host host-b with fencing token 2') } } });
    const worktree = await devNexus(['worktree', 'prepare', ws.root, '--json'], stale.env);
    expect(worktree).toMatchObject({ code: 3, json: { ok: false, error: { code: 'claim_lost' } } });
    const blocked = await devNexus(['automation', 'current-agent', 'record', ws.root, '--outcome', 'blocked', '--summary', 'lost my lease', '--json'], stale.env);
    expect(blocked).toMatchObject({ code: 0, json: { ok: true, outcome: { outcome: 'blocked', claimHeld: false }, workItemId: 'cli-stale' } });
    for (const ran of [completed, worktree, blocked]) expect(ran.stdout).not.toContain(winner.owner!.leaseToken);
  });
});

describe('dev-nexus automation launch (built)', () => {
  it('prints { ok, launch: { claim, run } } as the only stdout line; the agent\'s output goes to the run log', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'cli-launch');
    await setAgent(ws, { steps: ['say:hello from the agent', 'exit:0'], mode: 'sync', timeoutMs: 30_000 });
    const ran = await devNexus(['automation', 'launch', ws.root, '--home', ws.home, '--host', 'host-a', '--agent', 'coder', '--json'], ws.env);
    expect(ran.code).toBe(0);
    expect(ran.json).toMatchObject({ ok: true, launch: { claim: { status: 'claimed', workItem: { id: 'cli-launch' } }, run: { outcome: { outcome: 'completed' }, agent: { exitCode: 0 } } } });
    expect(ran.stdout).not.toContain('hello from the agent');
    const log = await readFile(ran.json.launch.run.logFile, 'utf8');
    expect(log).toContain('hello from the agent\n');
    expect(log).toContain('hello from the agent (stderr)');
    // Progress goes to stderr, never the lease token.
    expect(ran.stderr).toMatch(/^dev-nexus launch: claimed cli-launch \(fencing token 1, lease until .*\); running the sync agent, output in .*agent\.log$/m);
    expect(ran.stderr).toMatch(/^dev-nexus launch: the agent exited with code 0; outcome completed, after 0 renewal\(s\)$/m);
    expect(ran.stderr).not.toContain(ran.json.launch.claim.owner.leaseToken);
  });

  it('exit 4 when postgres is not ready (nothing started); exit 3 when a sync timeout is not below the lease', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'cli-refused');
    await setAgent(ws, { steps: ['exit:0'], mode: 'sync', timeoutMs: 30_000 });
    const args = ['automation', 'launch', ws.root, '--home', ws.home, '--host', 'host-a', '--json'];
    const blocked = await devNexus(args, {});
    expect(blocked).toMatchObject({ code: 4, json: { ok: true, launch: { claim: { status: 'blocked' }, run: null } } });
    const refused = await devNexus([...args, '--lease-duration-ms', '30000'], ws.env);
    expect(refused).toMatchObject({ code: 3, json: { ok: false, error: { code: 'sync_timeout_exceeds_lease' } } });
    const usage = await devNexus([...args, '--lease-duration-ms', '10s'], ws.env);
    expect(usage).toMatchObject({ code: 1, json: { ok: false, error: { code: 'invalid_input' } } });
  });

  it('passes a SIGINT on to the agent (its own process group), then records failed and exits normally', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'cli-interrupt');
    const report = await setAgent(ws, { steps: ['sleep:60000'], mode: 'sync', timeoutMs: 50_000 });
    const child = spawn(process.execPath, [cli, 'automation', 'launch', ws.root, '--home', ws.home, '--host', 'host-a', '--kill-grace-ms', '500', '--json'], { env: ws.env });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const agentPid = (await waitFor(() => readReport(report).find((e) => e.event === 'start'), 'the agent to start')).pid;
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: true, launch: { run: { agent: { stoppedBy: 'interrupted' }, outcome: { outcome: 'failed', reason: expect.stringMatching(/^interrupted: the launcher received SIGINT/), claimReleased: true } } } });
    expect(readReport(report).map((e) => e.event)).toEqual(['start', 'SIGTERM']);
    expect(() => process.kill(agentPid, 0)).toThrow();
    expect((await tracker.get('cli-interrupt')).status).toBe('blocked');
  });
});
