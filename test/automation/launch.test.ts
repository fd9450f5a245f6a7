// automation launch with real files, real agent processes and a real PostgreSQL: the context
// file, the agent's environment, sync timeouts, the async heartbeat sidecar and lease loss.
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultAuthorityDeps, type AuthorityDeps } from '../../src/automation/authority.js';
import { claimNext } from '../../src/automation/claim-next.js';
import { readAgentContextFile } from '../../src/automation/context.js';
import { isAutomationError } from '../../src/automation/errors.js';
import { launch, type LaunchInput } from '../../src/automation/launch.js';
import { localDeadline, startHeartbeatSidecar, type LeaseLoss } from '../../src/automation/sidecar.js';
import type { ClaimAuthority } from '../../src/claims/authority.js';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { createNodePostgresClient } from '../../src/claims/postgres/node-postgres.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';
import { addItem, assertFreshBuild, expireClaims, postgresWorkspace, projectIdOf, readReport, setAgent, waitFor } from './fixtures/support.js';

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('launch');
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((w) => w.cleanup()));
});

const launchInput = (ws: TestWorkspace, extra: Partial<LaunchInput> = {}): LaunchInput => ({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId: 'host-a', agentId: 'coder', killGraceMs: 300, ...extra });
const identity = (projectId: string, workItemId: string) => ({ projectId, trackerId: 'local', workItemId });

describe('a launch that obtains a claim', () => {
  it('writes a 0600 context file in a 0700 run directory, gives the agent its claim environment, and records completed on exit 0', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'job');
    const report = await setAgent(ws, { steps: ['env', 'exit:0'], mode: 'sync', timeoutMs: 30_000 });

    const result = await launch(launchInput(ws));

    expect(result.claim).toMatchObject({ status: 'claimed', workItem: { id: 'job' }, authorityClaim: { fencingToken: 1, state: 'active' } });
    const run = result.run!;
    expect(run).toMatchObject({ mode: 'sync', agent: { exitCode: 0, signal: null, stoppedBy: null, error: null }, heartbeats: 0, outcome: { outcome: 'completed', recordedBy: 'launcher', claimReleased: true } });
    expect(run.contextFile).toBe(join(ws.root, '.dev-nexus', 'runs', run.runId, 'context.json'));
    expect(statSync(run.contextFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(run.contextFile)).mode & 0o777).toBe(0o700);

    const context = await readAgentContextFile(run.contextFile);
    const leaseToken = result.claim.owner!.leaseToken;
    expect(context).toMatchObject({
      version: 1,
      runId: run.runId,
      workspaceRoot: ws.root,
      home: ws.home,
      projectId: await projectIdOf(ws),
      componentId: 'main',
      trackerId: 'local',
      workItemId: 'job',
      authorityKind: 'postgres',
      owner: { hostId: 'host-a', agentId: 'coder', ownerId: 'host-a/coder', leaseToken },
      authorityClaim: { fencingToken: 1, state: 'active', identity: { workItemId: 'job' } },
      fencingToken: 1,
      leaseDurationMs: 60_000,
      heartbeatIntervalMs: 20_000,
      outcome: { outcome: 'completed' },
    });
    expect(isAbsolute(context.workspaceRoot)).toBe(true);
    expect(Number.isNaN(Date.parse(context.startedAt))).toBe(false);

    const events = readReport(report);
    const seen = events.find((e) => e.event === 'env')!;
    expect(seen.contextMode).toBe('600');
    expect(seen.env).toEqual({
      DEV_NEXUS_AGENT_CONTEXT_FILE: run.contextFile,
      DEV_NEXUS_CLAIM_LEASE_DURATION_MS: '60000',
      DEV_NEXUS_CLAIM_HEARTBEAT_INTERVAL_MS: '20000',
      DEV_NEXUS_CLAIM_AUTHORITY_KIND: 'postgres',
      DEV_NEXUS_CLAIM_FENCING_TOKEN: '1',
      DEV_NEXUS_CLAIM_AUTHORITY_STATE: 'active',
      DEV_NEXUS_HOME: ws.home,
      // The host environment passes through (here: the test's connection-string variable).
      DEV_NEXUS_TEST_CLAIMS_URL: db.url,
    });
    expect(events[0]).toMatchObject({ event: 'start', cwd: ws.root });

    // Completed released the claim and marked the item done; the lease token reached neither the tracker nor the log.
    const authority = await db.authority();
    const verdict = await authority.verify({ identity: identity(context.projectId, 'job'), leaseToken });
    expect(verdict).toMatchObject({ status: 'released', claim: { releasedBy: 'host-a/coder' } });
    const item = await tracker.get('job');
    expect(item.status).toBe('done');
    expect(item.comments.at(-1)?.body).toMatch(/^Completed by host host-a, agent coder \(fencing token 1, run run-/);
    expect(JSON.stringify(item)).not.toContain(leaseToken);
    expect(await readFile(run.logFile, 'utf8')).not.toContain(leaseToken);
    // The only copy of the lease token in the result is the owner's own.
    expect(JSON.stringify(result).split(leaseToken)).toHaveLength(2);
  });

  it('keeps an outcome the agent recorded itself, and records failed when the agent exits non-zero', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'self');
    const report = await setAgent(ws, { steps: ['record:blocked', 'exit:0'], mode: 'sync', timeoutMs: 30_000 });
    const own = await launch(launchInput(ws));
    expect(readReport(report).find((e) => e.event === 'record')).toMatchObject({ ok: true });
    expect(own.run?.outcome).toMatchObject({ outcome: 'blocked', recordedBy: 'agent', summary: 'reported by the agent', claimReleased: true });
    expect((await tracker.get('self')).status).toBe('blocked');

    await addItem(ws, 'crash');
    await setAgent(ws, { steps: ['exit:3'], mode: 'sync', timeoutMs: 30_000 });
    const crashed = await launch(launchInput(ws));
    expect(crashed.claim.workItem?.id).toBe('crash');
    expect(crashed.run).toMatchObject({ agent: { exitCode: 3, stoppedBy: null }, outcome: { outcome: 'failed', recordedBy: 'launcher', reason: 'agent_failed: the agent exited with code 3', claimReleased: true } });
    expect((await tracker.get('crash')).status).toBe('blocked');
  });

  it('records failed when the agent command cannot be started', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'nostart');
    const file = join(ws.root, 'dev-nexus.project.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    config.automation.agent = { command: [join(ws.root, 'no-such-agent')], mode: 'sync', timeoutMs: 30_000 };
    await (await import('node:fs/promises')).writeFile(file, JSON.stringify(config));
    const result = await launch(launchInput(ws));
    expect(result.run?.agent.error).toMatch(/could not be started/);
    expect(result.run?.outcome).toMatchObject({ outcome: 'failed', claimReleased: true });
    expect(result.run?.outcome.reason).toMatch(/^agent_error: /);
  });

  it('works with the optimistic_tracker backend too', async () => {
    const ws = await createWorkspace({ backend: 'optimistic_tracker' });
    made.push(ws);
    const tracker = await addItem(ws, 'opt');
    const report = await setAgent(ws, { steps: ['env', 'heartbeat', 'exit:0'], mode: 'sync', timeoutMs: 30_000 });
    const result = await launch(launchInput(ws));
    expect(result.run?.outcome).toMatchObject({ outcome: 'completed' });
    const events = readReport(report);
    expect(events.find((e) => e.event === 'env')?.env).toMatchObject({ DEV_NEXUS_CLAIM_AUTHORITY_KIND: 'optimistic_tracker', DEV_NEXUS_CLAIM_FENCING_TOKEN: '1' });
    expect(events.find((e) => e.event === 'heartbeat')).toMatchObject({ ok: true, result: { claim: { heartbeatCount: 1 } } });
    expect((await tracker.get('opt')).status).toBe('done');
  });
});

describe('a launch that obtains no claim starts nothing', () => {
  it('postgres configured but not ready: blocked, no run directory, no agent', async () => {
    const ws = await postgresWorkspace(db, made, { url: '' });
    const tracker = await addItem(ws, 'waiting');
    const report = await setAgent(ws, { steps: ['env'], mode: 'sync', timeoutMs: 30_000 });
    const result = await launch(launchInput(ws));
    expect(result.claim.status).toBe('blocked');
    expect(result.claim.readiness?.blockers.map((b) => b.code)).toContain('connection_string_env_missing');
    expect(result.run).toBeNull();
    expect(existsSync(report)).toBe(false);
    expect(existsSync(join(ws.root, '.dev-nexus', 'runs'))).toBe(false);
    expect((await tracker.get('waiting')).status).toBe('ready');
  });

  it('nothing to claim (no_claim) or every candidate held by another host (lost_race)', async () => {
    const ws = await postgresWorkspace(db, made);
    const report = await setAgent(ws, { steps: ['env'], mode: 'sync', timeoutMs: 30_000 });
    expect(await launch(launchInput(ws))).toMatchObject({ claim: { status: 'no_claim' }, run: null });

    await addItem(ws, 'taken');
    expect((await claimNext({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId: 'host-b' })).status).toBe('claimed');
    const lost = await launch(launchInput(ws));
    expect(lost).toMatchObject({ claim: { status: 'lost_race', lostTo: [{ workItemId: 'taken', hostId: 'host-b', fencingToken: 1 }] }, run: null });
    expect(lost.claim.owner).toBeNull();
    expect(existsSync(report)).toBe(false);
  });
});

describe('sync launches', () => {
  it('are refused before claiming unless timeoutMs is below the lease', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'long');
    const report = await setAgent(ws, { steps: ['env'], mode: 'sync', timeoutMs: 30_000 });
    const refused = await launch(launchInput(ws, { leaseDurationMs: 30_000 })).catch((e: unknown) => e);
    expect(isAutomationError(refused, 'sync_timeout_exceeds_lease')).toBe(true);
    expect((refused as Error).message).toMatch(/refused before claiming: .*timeoutMs \(30000\) must be lower than the lease \(30000 ms\)/);
    expect(existsSync(report)).toBe(false);
    const claims = await (await db.authority()).inspect({ projectId: await projectIdOf(ws) });
    expect([...claims.active, ...claims.stale, ...claims.released]).toEqual([]);
    expect((await tracker.get('long')).status).toBe('ready');

    // The same rule in the project config itself: the config does not load, so nothing is claimed either.
    const file = join(ws.root, 'dev-nexus.project.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    config.automation.agent.timeoutMs = 60_000;
    await (await import('node:fs/promises')).writeFile(file, JSON.stringify(config));
    await expect(launch(launchInput(ws))).rejects.toMatchObject({ code: 'config_invalid' });
    expect((await tracker.get('long')).status).toBe('ready');
  });

  it('stop the agent at its timeout (SIGTERM) and record failed', async () => {
    const ws = await postgresWorkspace(db, made);
    const tracker = await addItem(ws, 'slow');
    const report = await setAgent(ws, { steps: ['sleep:30000'], mode: 'sync', timeoutMs: 700 });
    const started = performance.now();
    const result = await launch(launchInput(ws));
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(result.run).toMatchObject({ agent: { stoppedBy: 'timeout', exitCode: 143 }, outcome: { outcome: 'failed', claimReleased: true } });
    expect(result.run?.outcome.reason).toMatch(/^timeout: the agent ran longer than automation.agent.timeoutMs \(700 ms\)/);
    expect(readReport(report).map((e) => e.event)).toEqual(['start', 'SIGTERM']);
    expect((await tracker.get('slow')).status).toBe('blocked');
  });
});

describe('async launches: the heartbeat sidecar', () => {
  it('renews the claim while a well-behaved agent works, so its completion is accepted after the original lease', async () => {
    const ws = await postgresWorkspace(db, made, { leaseDurationMs: 3_000, heartbeatIntervalMs: 300 });
    const tracker = await addItem(ws, 'steady');
    await setAgent(ws, { steps: ['sleep:4500', 'exit:0'], mode: 'async', timeoutMs: 60_000 });
    const result = await launch(launchInput(ws));
    const run = result.run!;
    // One and a half leases passed: without renewals the claim would have expired and completion been refused.
    expect(run).toMatchObject({ mode: 'async', agent: { exitCode: 0, stoppedBy: null }, outcome: { outcome: 'completed', claimReleased: true } });
    expect(run.heartbeats).toBeGreaterThanOrEqual(3);
    const context = await readAgentContextFile(run.contextFile);
    expect(context.authorityClaim.heartbeatCount).toBeGreaterThanOrEqual(3);
    expect(Date.parse(context.owner.expiresAt)).toBeGreaterThan(Date.parse(result.claim.owner!.expiresAt));
    expect((await tracker.get('steady')).status).toBe('done');
  });

  it('stops an agent whose lease was reclaimed by another host: SIGTERM, then SIGKILL when ignored; records failed naming the new holder', async () => {
    const ws = await postgresWorkspace(db, made, { leaseDurationMs: 4_000, heartbeatIntervalMs: 1_000 });
    const tracker = await addItem(ws, 'stolen');
    const projectId = await projectIdOf(ws);
    const report = await setAgent(ws, { steps: ['ignore-term', 'sleep:60000'], mode: 'async', timeoutMs: 120_000 });
    const running = launch(launchInput(ws));

    // Right after a renewal (a second before the next one), the lease "expires" and host-b
    // reclaims: two quick statements, so the sidecar's next renewal meets host-b's claim.
    const authority = await db.authority();
    const admin = db.admin;
    await waitFor(async () => (await admin.query(`SELECT heartbeat_count FROM "${db.schema}".work_item_claims WHERE project_id = $1`, [projectId])).rows[0]?.heartbeat_count >= 1, 'a first renewal');
    await expireClaims(db, projectId);
    const thiefToken = randomUUID();
    const thief = await authority.claim({ identity: identity(projectId, 'stolen'), owner: { hostId: 'host-b', agentId: null, ownerId: 'host-b' }, leaseToken: thiefToken, leaseDurationMs: 60_000 });
    expect(thief).toMatchObject({ status: 'claimed', claim: { fencingToken: 2, reclaimedFrom: { fencingToken: 1 } } });

    const result = await running;
    const run = result.run!;
    expect(run.agent).toMatchObject({ stoppedBy: 'lease_lost', signal: 'SIGKILL', exitCode: null });
    expect(readReport(report).map((e) => e.event)).toEqual(['start', 'SIGTERM']);
    expect(run.outcome).toMatchObject({ outcome: 'failed', recordedBy: 'launcher', claimHeld: false, claimReleased: false });
    expect(run.outcome.reason).toMatch(/^lease_lost: the heartbeat was rejected: claim lost: work item stolen .*claimed again by host host-b with fencing token 2, lease until /);
    expect(JSON.stringify(result)).not.toContain(thiefToken);

    // The new holder keeps its claim and the item's status; the stale run only left a comment.
    expect((await authority.verify({ identity: identity(projectId, 'stolen'), leaseToken: thiefToken, fencingToken: 2 })).status).toBe('verified');
    const item = await tracker.get('stolen');
    expect(item.status).toBe('in_progress');
    expect(item.comments.at(-1)?.body).toMatch(/^Failed: reported by host host-a.*passed to host host-b \(fencing token 2\); the item's status was left as it is\.$/);
  });

  it('stops the agent when no renewal succeeds before the local deadline, and records failed with the reason', async () => {
    const ws = await postgresWorkspace(db, made, { leaseDurationMs: 4_000, heartbeatIntervalMs: 500 });
    const tracker = await addItem(ws, 'unreachable');
    const report = await setAgent(ws, { steps: ['sleep:60000'], mode: 'async', timeoutMs: 120_000 });
    // Every renewal fails as if the connection dropped; everything else works.
    const deps: AuthorityDeps = {
      ...defaultAuthorityDeps,
      async createClient(connectionString) {
        const inner = await createNodePostgresClient({ connectionString, maxConnections: 2 });
        return {
          query: (statement, values) => (statement.name.startsWith('dev_nexus_heartbeat_') ? Promise.reject(new ClaimAuthorityError('connection_lost', 'the connection to PostgreSQL was lost (test)')) : inner.query(statement, values)),
          close: () => inner.close(),
        };
      },
    };
    const started = performance.now();
    const result = await launch(launchInput(ws), deps);
    const elapsed = performance.now() - started;
    const run = result.run!;
    expect(run).toMatchObject({ heartbeats: 0, agent: { stoppedBy: 'lease_lost', exitCode: 143 } });
    // The deadline is lease − margin (4000 − 1000 ms) after the claim was sent; the lease itself had not run out.
    expect(elapsed).toBeGreaterThan(2_900);
    expect(run.outcome.reason).toMatch(/^lease_lost: no renewal succeeded before the local deadline .*last renewal error: the connection to PostgreSQL was lost \(test\)/);
    // Recorded before the lease itself ran out, the claim was also released (not asserted: a loaded machine may take a second longer).
    expect(run.outcome).toMatchObject({ outcome: 'failed', recordedBy: 'launcher' });
    expect(readReport(report).map((e) => e.event)).toEqual(['start', 'SIGTERM']);
    expect((await tracker.get('unreachable')).status).toBe('blocked');
  });
});

describe('lease tokens', () => {
  it('a second launch on the same workspace gets a different run and never sees the first owner\'s token', async () => {
    const ws = await postgresWorkspace(db, made);
    await addItem(ws, 'one');
    await addItem(ws, 'two');
    await setAgent(ws, { steps: ['exit:0'], mode: 'sync', timeoutMs: 30_000 });
    const first = await launch(launchInput(ws));
    const second = await launch(launchInput(ws, { hostId: 'host-c', agentId: randomUUID().slice(0, 6) }));
    expect(second.run?.runId).not.toBe(first.run?.runId);
    expect(JSON.stringify(second)).not.toContain(first.claim.owner!.leaseToken);
  });
});

describe('the sidecar\'s local deadline', () => {
  it('uses only the authority\'s own difference (expiresAt − dbNow) on the monotonic clock, never this host\'s wall clock', () => {
    // A database clock decades away from this host's changes nothing: only the lease left counts.
    expect(localDeadline(1_000, '2099-01-01T00:00:10.000000Z', '2099-01-01T00:00:00.000000Z', 2_000)).toBe(9_000);
    expect(localDeadline(1_000, '1999-01-01T00:00:10.000000Z', '1999-01-01T00:00:00.000000Z', 2_000)).toBe(9_000);
  });

  it('fires even while a renewal hangs, and then stops renewing', async () => {
    let calls = 0;
    const hanging = { kind: 'postgres', heartbeat: () => ((calls += 1), new Promise(() => {})) } as unknown as ClaimAuthority;
    const lost: LeaseLoss[] = [];
    const started = performance.now();
    const sidecar = startHeartbeatSidecar({
      authority: hanging,
      proof: { identity: { projectId: 'p', trackerId: 'local', workItemId: 'x' }, leaseToken: randomUUID(), fencingToken: 1 },
      leaseDurationMs: 1_000,
      intervalMs: 100,
      safetyMarginMs: 250,
      deadline: started + 600,
      onLost: (loss) => lost.push(loss),
    });
    await waitFor(() => lost.length > 0, 'the deadline', 10_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    expect(lost).toEqual([{ kind: 'deadline', lastError: null }]);
    expect(calls).toBe(1); // the one renewal that never answered; nothing after the loss
    await sidecar.stop();
    expect(sidecar.heartbeats).toBe(0);
  });
});
