// current-agent heartbeat and record, the worker guard, and the context file, with real files
// and a real PostgreSQL. Runs are set up as launch sets them up (claim-next + context file).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claimNext } from '../../src/automation/claim-next.js';
import { AGENT_CONTEXT_ENV, readAgentContext, readAgentContextFile, updateAgentContext, withRenewedClaim, type AgentContext } from '../../src/automation/context.js';
import { currentAgentHeartbeat, currentAgentRecord } from '../../src/automation/current-agent.js';
import { ClaimLostError, verifyCurrentClaim } from '../../src/automation/guard.js';
import { openLocalTracker } from '../../src/trackers/local/index.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import type { TestWorkspace } from '../support/workspace.js';
import { addItem, claimedRun, expireClaims, postgresWorkspace, projectIdOf } from './fixtures/support.js';

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  db = await createTestSchema('current_agent');
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((w) => w.cleanup()));
});

const proofOf = (context: AgentContext) => ({ identity: context.authorityClaim.identity, leaseToken: context.owner.leaseToken, fencingToken: context.fencingToken });

/** host-a's run, whose claim then expires and host-b reclaims: host-a is now a stale owner. */
async function staleRun(ws: TestWorkspace, workItemId: string) {
  await addItem(ws, workItemId);
  const stale = await claimedRun(ws, 'host-a');
  await expireClaims(db, await projectIdOf(ws));
  const winner = await claimNext({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId: 'host-b', agentId: 'other' });
  expect(winner).toMatchObject({ status: 'claimed', authorityClaim: { fencingToken: 2 } });
  return { stale, winner };
}

describe('the launch context file', () => {
  it('is found through DEV_NEXUS_AGENT_CONTEXT_FILE, with errors that say what to do', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'ctx');
    const { file, context } = await claimedRun(ws, 'host-a');
    expect((await readAgentContext({ [AGENT_CONTEXT_ENV]: file })).context).toEqual(context);

    await expect(readAgentContext({})).rejects.toMatchObject({ code: 'no_agent_context', message: expect.stringMatching(/DEV_NEXUS_AGENT_CONTEXT_FILE is not set: .*dev-nexus automation launch/) });
    await expect(readAgentContext({ [AGENT_CONTEXT_ENV]: join(ws.root, 'missing.json') })).rejects.toMatchObject({ code: 'no_agent_context', message: expect.stringContaining('does not exist') });

    const broken = join(ws.root, 'broken.json');
    await writeFile(broken, '{ not json');
    await expect(readAgentContext({ [AGENT_CONTEXT_ENV]: broken })).rejects.toMatchObject({ code: 'agent_context_invalid', message: expect.stringContaining('not JSON') });
    await writeFile(broken, JSON.stringify({ ...context, fencingToken: 'one', owner: { ...context.owner, leaseToken: 7 } }));
    const invalid = await readAgentContext({ [AGENT_CONTEXT_ENV]: broken }).catch((e: Error) => e);
    expect(invalid).toMatchObject({ code: 'agent_context_invalid', message: expect.stringMatching(/bad or missing .*fencingToken/) });
    expect((invalid as Error).message).not.toContain(context.owner.leaseToken);
  });

  it('concurrent updates lose nothing (the sidecar and the agent write it at the same time)', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'busy');
    const { file } = await claimedRun(ws, 'host-a');
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => updateAgentContext(file, (c) => ({ ...c, [`mark${i}`]: i }) as AgentContext)),
    );
    const after = (await readAgentContextFile(file)) as unknown as Record<string, unknown>;
    for (let i = 0; i < 12; i += 1) expect(after[`mark${i}`]).toBe(i);
  });

  it('refuses a command pointed at another workspace than the context\'s', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'mine');
    const { env } = await claimedRun(ws, 'host-a');
    const other = join(ws.root, '..', 'elsewhere');
    await mkdir(other);
    await expect(currentAgentHeartbeat({ workspaceRoot: other, env })).rejects.toMatchObject({ code: 'agent_context_mismatch' });
  });
});

describe('current-agent heartbeat', () => {
  it('renews for the configured lease (or the one given), updates the context, returns the record without a lease token', async () => {
    const ws = await postgresWorkspace(db, made, { leaseDurationMs: 90_000, heartbeatIntervalMs: 30_000 });
    await addItem(ws, 'beat');
    const { env, file, context } = await claimedRun(ws, 'host-a');
    const beat = await currentAgentHeartbeat({ workspaceRoot: ws.root, env });
    expect(beat).toMatchObject({ runId: context.runId, workItemId: 'beat', claim: { fencingToken: 1, heartbeatCount: 1, state: 'active' } });
    expect(Date.parse(beat.claim.expiresAt) - Date.parse(beat.dbNow)).toBeGreaterThanOrEqual(89_999);
    expect(JSON.stringify(beat)).not.toContain(context.owner.leaseToken);
    const saved = await readAgentContextFile(file);
    expect(saved.authorityClaim).toEqual(beat.claim);
    expect(saved.owner.expiresAt).toBe(beat.claim.expiresAt);

    const short = await currentAgentHeartbeat({ workspaceRoot: ws.root, env, leaseDurationMs: 5_000 });
    expect(Date.parse(short.claim.expiresAt) - Date.parse(short.dbNow)).toBeLessThanOrEqual(5_001);
    expect(short.claim.heartbeatCount).toBe(2);
    // The later renewal wins in the context even though it shortened the lease; an older answer arriving late does not.
    expect((await readAgentContextFile(file)).owner.expiresAt).toBe(short.claim.expiresAt);
    await updateAgentContext(file, (c) => withRenewedClaim(c, beat.claim));
    expect((await readAgentContextFile(file)).authorityClaim.heartbeatCount).toBe(2);
  });

  it('a stale owner\'s heartbeat is claim_lost, naming the new holder and never its lease token', async () => {
    const ws = await postgresWorkspace(db, made);
    const { stale, winner } = await staleRun(ws, 'lost');
    const error = await currentAgentHeartbeat({ workspaceRoot: ws.root, env: stale.env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimLostError);
    expect(error).toMatchObject({ code: 'claim_lost', status: 'token_mismatch', holder: { hostId: 'host-b', agentId: 'other', fencingToken: 2, state: 'active' } });
    expect((error as Error).message).toMatch(/^claim lost: work item lost is no longer held by this run \(host host-a, agent agent, fencing token 1\): it was claimed again by host host-b \(agent other\) with fencing token 2, lease until /);
    expect((error as Error).message).not.toContain(winner.owner!.leaseToken);
    expect((await readAgentContextFile(stale.file)).authorityClaim.fencingToken).toBe(1);
  });
});

describe('current-agent record', () => {
  it('completed by the live owner: guarded, releases the claim, marks the item done; an outcome is recorded once', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'finish');
    const { env, file, context } = await claimedRun(ws, 'host-a');
    const result = await currentAgentRecord({ workspaceRoot: ws.root, env, outcome: 'completed', summary: 'fixed it' });
    expect(result).toMatchObject({
      workItemId: 'finish',
      workItemStatus: 'done',
      claim: { state: 'released', releasedBy: 'host-a/agent' },
      outcome: { outcome: 'completed', summary: 'fixed it', recordedBy: 'agent', claimReleased: true, claimHeld: true },
      warnings: [],
    });
    const item = await tracker.get('finish');
    expect(item.status).toBe('done');
    expect(item.comments.at(-1)?.body).toBe(`Completed by host host-a, agent agent (fencing token 1, run ${context.runId}): fixed it.`);
    expect((await readAgentContextFile(file)).outcome).toMatchObject({ outcome: 'completed' });
    expect((await (await db.authority()).verify(proofOf(context))).status).toBe('released');

    await expect(currentAgentRecord({ workspaceRoot: ws.root, env, outcome: 'failed' })).rejects.toMatchObject({ code: 'outcome_already_recorded' });
  });

  it('a stale worker\'s completed is refused (claim_lost, naming the new holder) while its blocked is recorded', async () => {
    const ws = await postgresWorkspace(db, made);
    const { stale, winner } = await staleRun(ws, 'contested');
    const tracker = openLocalTracker(ws.root, { trackerId: 'local' });
    const before = await tracker.get('contested');

    const refused = await currentAgentRecord({ workspaceRoot: ws.root, env: stale.env, outcome: 'completed' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'claim_lost', holder: { hostId: 'host-b', fencingToken: 2 } });
    expect((refused as Error).message).toMatch(/claim lost: .*claimed again by host host-b \(agent other\) with fencing token 2, lease until .*; recording `completed` was refused/);
    expect((refused as Error).message).not.toContain(winner.owner!.leaseToken);
    expect(await tracker.get('contested')).toEqual(before);
    expect((await readAgentContextFile(stale.file)).outcome).toBeNull();

    const blocked = await currentAgentRecord({ workspaceRoot: ws.root, env: stale.env, outcome: 'blocked', summary: 'the lease ran out while I was offline' });
    expect(blocked).toMatchObject({ outcome: { outcome: 'blocked', claimHeld: false, claimReleased: false }, workItemStatus: null, claim: { fencingToken: 2 } });
    const item = await tracker.get('contested');
    // The new holder's item keeps its status; the stale worker's report is a comment.
    expect(item.status).toBe('in_progress');
    expect(item.comments.at(-1)?.body).toMatch(/^Blocked: reported by host host-a, agent agent \(fencing token 1, .*\): the lease ran out while I was offline\. This owner's claim had already passed to host host-b \(fencing token 2\)/);
    expect((await readAgentContextFile(stale.file)).outcome).toMatchObject({ outcome: 'blocked', recordedBy: 'agent' });
    // The winner's claim is untouched.
    expect((await (await db.authority()).verify({ identity: proofOf(stale.context).identity, leaseToken: winner.owner!.leaseToken, fencingToken: 2 })).status).toBe('verified');
  });

  it('blocked by the live owner releases the claim and marks the item blocked', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'stuck');
    const { env, context } = await claimedRun(ws, 'host-a');
    const result = await currentAgentRecord({ workspaceRoot: ws.root, env, outcome: 'blocked', summary: `needs a decision (my token ${context.owner.leaseToken})` });
    expect(result).toMatchObject({ workItemStatus: 'blocked', outcome: { claimHeld: true, claimReleased: true } });
    const item = await tracker.get('stuck');
    expect(item.status).toBe('blocked');
    // Even the owner's own token, pasted into a summary, never reaches the tracker.
    expect(JSON.stringify(item)).not.toContain(context.owner.leaseToken);
    expect(item.comments.at(-1)?.body).toContain('needs a decision (my token [redacted])');
  });

  it('failed after the lease expired (nobody reclaimed): recorded, item blocked, nothing to release', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'late');
    const { env, context } = await claimedRun(ws, 'host-a');
    await expireClaims(db, context.projectId);
    await expect(verifyCurrentClaim(context, await db.authority())).rejects.toMatchObject({ code: 'claim_lost', status: 'expired', holder: null, message: expect.stringContaining('its lease expired at') });
    const result = await currentAgentRecord({ workspaceRoot: ws.root, env, outcome: 'failed', summary: 'crashed' });
    expect(result).toMatchObject({ workItemStatus: 'blocked', outcome: { outcome: 'failed', claimHeld: false, claimReleased: false } });
    expect((await tracker.get('late')).status).toBe('blocked');
  });

  it('when postgres is not ready: failed is still recorded (claim not released), completed is blocked', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'offline');
    const { env, file } = await claimedRun(ws, 'host-a');
    const down = { [AGENT_CONTEXT_ENV]: env[AGENT_CONTEXT_ENV] }; // no connection string on this "host" now
    await expect(currentAgentRecord({ workspaceRoot: ws.root, env: down, outcome: 'completed' })).rejects.toMatchObject({ code: 'blocked' });
    await expect(currentAgentHeartbeat({ workspaceRoot: ws.root, env: down })).rejects.toMatchObject({ code: 'blocked', message: expect.stringContaining('DEV_NEXUS_TEST_CLAIMS_URL') });
    const failed = await currentAgentRecord({ workspaceRoot: ws.root, env: down, outcome: 'failed', summary: 'gave up' });
    expect(failed.outcome).toMatchObject({ outcome: 'failed', claimReleased: false });
    expect(failed.warnings).toEqual([expect.stringMatching(/^claim_not_released: /)]);
    expect((await tracker.get('offline')).status).toBe('blocked');
    expect((await readAgentContextFile(file)).outcome?.outcome).toBe('failed');
  });

  it('refuses an unknown outcome', async () => {
    await expect(currentAgentRecord({ workspaceRoot: '.', env: {}, outcome: 'done' as never })).rejects.toMatchObject({ code: 'invalid_outcome' });
  });
});

describe('the context file on disk', () => {
  it('holds the owner\'s lease token only in owner.leaseToken', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'disk');
    const { file, context } = await claimedRun(ws, 'host-a');
    const raw = await readFile(file, 'utf8');
    expect(raw.split(context.owner.leaseToken)).toHaveLength(2);
  });
});
