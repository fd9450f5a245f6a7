// claim-next, release and heartbeat use cases with real files and a real PostgreSQL.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNodePostgresClient } from '../../src/claims/postgres/node-postgres.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import { defaultAuthorityDeps, type AuthorityDeps } from '../../src/automation/authority.js';
import { claimNext } from '../../src/automation/claim-next.js';
import { heartbeatClaim, releaseClaim } from '../../src/automation/release.js';
import { openLocalTracker } from '../../src/trackers/local/index.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  db = await createTestSchema('claimnext');
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((w) => w.cleanup()));
});

async function postgresWorkspace(extra: Partial<Parameters<typeof createWorkspace>[0]> = {}): Promise<TestWorkspace> {
  const ws = await createWorkspace({ backend: 'postgres', projectId: `p-${randomUUID().slice(0, 8)}`, schema: db.schema, url: db.url, ...extra });
  made.push(ws);
  return ws;
}

async function addItems(ws: TestWorkspace, ids: string[], status: 'ready' | 'in_progress' = 'ready') {
  const tracker = openLocalTracker(ws.root, { trackerId: 'local' });
  for (const [i, id] of ids.entries()) await tracker.add({ id, title: `item ${id}`, priority: 10 + i, status });
  return tracker;
}

const input = (ws: TestWorkspace, hostId: string) => ({ workspaceRoot: ws.root, home: ws.home, env: ws.env, hostId, agentId: 'agent' });

/** Deps whose first claim statement is preceded by a competing claim from another host. */
function competingFirst(competitor: (projectId: string) => Promise<void>, projectId: string): AuthorityDeps {
  return {
    ...defaultAuthorityDeps,
    async createClient(connectionString) {
      const inner: SqlClient = await createNodePostgresClient({ connectionString, maxConnections: 2 });
      let fired = false;
      return {
        async query(statement, values) {
          if (!fired && statement.name.startsWith('dev_nexus_claim_')) {
            fired = true;
            await competitor(projectId);
          }
          return inner.query(statement, values);
        },
        close: () => inner.close(),
      };
    },
  };
}

async function otherHostClaims(projectId: string, workItemId: string) {
  const authority = await db.authority();
  const result = await authority.claim({ identity: { projectId, trackerId: 'local', workItemId }, owner: { hostId: 'host-b', agentId: null, ownerId: 'host-b' }, leaseToken: randomUUID(), leaseDurationMs: 60_000 });
  if (result.status !== 'claimed') throw new Error('competitor setup failed');
  return result.claim.fencingToken;
}

describe('claim-next with the postgres backend', () => {
  it('claims the first candidate by priority, mirrors it to the tracker without the lease token', async () => {
    const ws = await postgresWorkspace();
    const tracker = await addItems(ws, ['b-second', 'a-first']);
    await tracker.update('b-second', 1, () => ({ priority: 1 }));
    const result = await claimNext(input(ws, 'host-a'));
    expect(result).toMatchObject({ status: 'claimed', backend: 'postgres', workItem: { id: 'b-second', status: 'in_progress' }, authorityClaim: { fencingToken: 1, state: 'active' } });
    expect(result.owner).toMatchObject({ hostId: 'host-a', agentId: 'agent', ownerId: 'host-a/agent' });
    const leaseToken = result.owner!.leaseToken;
    const stored = await tracker.get('b-second');
    expect(stored.comments.at(-1)?.body).toMatch(/host host-a, agent agent with fencing token 1; lease until .* \(postgres\)/);
    expect(JSON.stringify(stored)).not.toContain(leaseToken);
    expect(result.warnings).toEqual([]);
  });

  it('a lost race moves on to the next candidate, and reports whom it lost to', async () => {
    const ws = await postgresWorkspace();
    await addItems(ws, ['one', 'two']);
    const projectId = (await import('../../src/config/project.js')).loadProjectConfig;
    const { config } = await projectId(ws.root);
    let winnerFencing = 0;
    const deps = competingFirst(async (p) => {
      winnerFencing = await otherHostClaims(p, 'one');
    }, config.projectId);
    const result = await claimNext(input(ws, 'host-a'), deps);
    expect(result.status).toBe('claimed');
    expect(result.workItem?.id).toBe('two');
    expect(result.lostTo).toEqual([expect.objectContaining({ workItemId: 'one', fencingToken: winnerFencing, hostId: 'host-b' })]);
  });

  it('when every candidate is lost, the result is lost_race carrying the winner claim without its lease token', async () => {
    const ws = await postgresWorkspace();
    await addItems(ws, ['only']);
    const { loadProjectConfig } = await import('../../src/config/project.js');
    const { config } = await loadProjectConfig(ws.root);
    const result = await claimNext(input(ws, 'host-a'), competingFirst(async (p) => { await otherHostClaims(p, 'only'); }, config.projectId));
    expect(result).toMatchObject({ status: 'lost_race', workItem: { id: 'only' }, authorityClaim: { fencingToken: 1, owner: { hostId: 'host-b' } }, owner: null });
    expect(result.lostTo).toHaveLength(1);
  });

  it('an item another owner holds is a lost race (with the holder), and an expired claim is reclaimed while the tracker still says in_progress', async () => {
    const ws = await postgresWorkspace();
    const tracker = await addItems(ws, ['job']);
    const first = await claimNext({ ...input(ws, 'host-a'), leaseDurationMs: 60 });
    expect(first.status).toBe('claimed');
    expect((await tracker.get('job')).status).toBe('in_progress');

    const whileHeld = await claimNext(input(ws, 'host-b'));
    expect(whileHeld).toMatchObject({ status: 'lost_race', lostTo: [{ workItemId: 'job', hostId: 'host-a', fencingToken: 1 }], authorityClaim: { fencingToken: 1, owner: { hostId: 'host-a' } }, owner: null });
    expect(JSON.stringify(whileHeld)).not.toContain(first.owner!.leaseToken);

    await new Promise((r) => setTimeout(r, 120));
    const reclaim = await claimNext(input(ws, 'host-b'));
    expect(reclaim).toMatchObject({ status: 'claimed', workItem: { id: 'job' }, authorityClaim: { fencingToken: 2, reclaimedFrom: { fencingToken: 1, owner: { hostId: 'host-a' } } } });
    expect((await tracker.get('job')).comments.at(-1)?.body).toContain('reclaimed from host-a');
  });

  it('an in_progress item with no expired claim is not claimable', async () => {
    const ws = await postgresWorkspace();
    await addItems(ws, ['manual'], 'in_progress');
    const result = await claimNext(input(ws, 'host-a'));
    expect(result).toMatchObject({ status: 'no_claim', skippedCandidates: [{ workItemId: 'manual', reason: 'in_progress_without_expired_claim' }] });
  });

  it('a mirror failure becomes a warning on the result, never a lost claim', async () => {
    const ws = await postgresWorkspace();
    const tracker = await addItems(ws, ['mirror']);
    // Hold the item's lock (as a live process would) so the mirror write times out.
    const { writeFile } = await import('node:fs/promises');
    const lockFile = tracker.fileFor('mirror').replace(/\.json$/, '.lock');
    await writeFile(lockFile, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), token: 'x', acquiredAt: new Date().toISOString() }));
    const result = await claimNext(input(ws, 'host-a'));
    expect(result.status).toBe('claimed');
    expect(result.warnings).toEqual([expect.stringMatching(/^mirror_failed: the claim stands/)]);
    expect(result.warnings[0]).not.toContain(result.owner!.leaseToken);
    const { rm } = await import('node:fs/promises');
    await rm(lockFile);
    const verdict = await (await db.authority()).verify({ identity: { projectId: result.authorityClaim!.identity.projectId, trackerId: 'local', workItemId: 'mirror' }, leaseToken: result.owner!.leaseToken });
    expect(verdict.status).toBe('verified');
  }, 20_000);

  it('release and heartbeat: a wrong fencing token is refused, heartbeat renews for the configured lease, release mirrors a comment', async () => {
    const ws = await postgresWorkspace({ leaseDurationMs: 90_000, heartbeatIntervalMs: 30_000 });
    const tracker = await addItems(ws, ['rel']);
    const claimed = await claimNext(input(ws, 'host-a'));
    const leaseToken = claimed.owner!.leaseToken;
    const lease = { workspaceRoot: ws.root, home: ws.home, env: ws.env, workItemId: 'rel', leaseToken };
    expect(await releaseClaim({ ...lease, fencingToken: 2 })).toMatchObject({ status: 'rejected', reason: 'fencing_token_mismatch' });
    const beat = await heartbeatClaim({ ...lease, fencingToken: 1 });
    expect(beat.status).toBe('heartbeat');
    if (beat.status === 'heartbeat') expect(Date.parse(beat.claim.expiresAt) - Date.parse(beat.claim.lastHeartbeatAt!)).toBeGreaterThanOrEqual(89_999);
    const released = await releaseClaim({ ...lease, fencingToken: 1, releasedBy: 'host-a/agent' });
    expect(released).toMatchObject({ status: 'released', claim: { state: 'released', releasedBy: 'host-a/agent' }, warnings: [] });
    const item = await tracker.get('rel');
    expect(item.comments.at(-1)?.body).toBe('Claim released by host host-a, agent agent (fencing token 1).');
    expect(JSON.stringify(item)).not.toContain(leaseToken);
  });
});

describe('no fallback: a postgres backend that is not ready blocks', () => {
  const cases: [string, () => Promise<{ ws: TestWorkspace; deps?: AuthorityDeps }>, string][] = [
    ['the host has no profile', async () => ({ ws: await postgresWorkspace({ profile: false }) }), 'profile_missing'],
    ['the connection-string env var is unset', async () => ({ ws: await postgresWorkspace({ url: '' }) }), 'connection_string_env_missing'],
    ['the pg adapter is unavailable', async () => ({ ws: await postgresWorkspace(), deps: { ...defaultAuthorityDeps, detectAdapter: async () => ({ available: false, version: null, reason: 'the optional pg package is not installed; run `npm install pg`' }) } }), 'adapter_unavailable'],
    ['the database does not answer', async () => {
      const url = new URL(db.url);
      url.port = '1';
      return { ws: await postgresWorkspace({ url: url.toString() }) };
    }, 'database_unreachable'],
    ['the schema does not exist', async () => ({ ws: await postgresWorkspace({ schema: 'no_such_claims_schema' }) }), 'schema_missing'],
  ];

  it.each(cases)('when %s: claim-next, release and heartbeat are blocked and nothing is written', async (_what, setup, code) => {
    const { ws, deps } = await setup();
    const tracker = await addItems(ws, ['blocked-item']);
    const before = await tracker.get('blocked-item');
    const result = await claimNext(input(ws, 'host-a'), deps);
    expect(result.status).toBe('blocked');
    expect(result.readiness?.blockers.map((b) => b.code)).toContain(code);
    expect(result.reason).toBeTruthy();
    expect(result.reason).not.toContain(new URL(db.url).password);
    const lease = { workspaceRoot: ws.root, home: ws.home, env: ws.env, workItemId: 'blocked-item', leaseToken: randomUUID() };
    expect((await releaseClaim(lease, deps)).status).toBe('blocked');
    expect((await heartbeatClaim(lease, deps)).status).toBe('blocked');
    // No silent fallback to optimistic_tracker: the item is exactly as it was.
    expect(await tracker.get('blocked-item')).toEqual(before);
  });
});

describe('claim-next with the optimistic_tracker backend', () => {
  it('claims through the tracker, skips a held item, releases, and reclaims an expired claim while in_progress', async () => {
    const ws = await createWorkspace({ backend: 'optimistic_tracker' });
    made.push(ws);
    const tracker = await addItems(ws, ['opt']);
    const first = await claimNext({ ...input(ws, 'host-a'), leaseDurationMs: 60_000 });
    expect(first).toMatchObject({ status: 'claimed', backend: 'optimistic_tracker', authorityClaim: { fencingToken: 1 } });
    const stored = await tracker.get('opt');
    expect(stored.status).toBe('in_progress');
    expect(JSON.stringify(stored)).not.toContain(first.owner!.leaseToken);

    expect(await claimNext(input(ws, 'host-b'))).toMatchObject({ status: 'lost_race', lostTo: [{ workItemId: 'opt', hostId: 'host-a' }] });

    const lease = { workspaceRoot: ws.root, env: ws.env, workItemId: 'opt', leaseToken: first.owner!.leaseToken };
    expect((await heartbeatClaim({ ...lease, fencingToken: 1 })).status).toBe('heartbeat');
    expect(await releaseClaim({ ...lease, fencingToken: 1 })).toMatchObject({ status: 'released' });
    expect(await releaseClaim({ ...lease, fencingToken: 1 })).toMatchObject({ status: 'released', alreadyReleased: true });

    await tracker.setStatus('opt', 'ready');
    const second = await claimNext({ ...input(ws, 'host-b'), leaseDurationMs: 40 });
    expect(second).toMatchObject({ status: 'claimed', authorityClaim: { fencingToken: 2, reclaimedFrom: null } });
    await new Promise((r) => setTimeout(r, 80));
    expect((await tracker.get('opt')).status).toBe('in_progress');
    const third = await claimNext(input(ws, 'host-c'));
    expect(third).toMatchObject({ status: 'claimed', authorityClaim: { fencingToken: 3, reclaimedFrom: { fencingToken: 2, owner: { hostId: 'host-b' } } } });
    expect(await heartbeatClaim({ ...lease, workItemId: 'opt', leaseToken: second.owner!.leaseToken })).toMatchObject({ status: 'rejected', reason: 'token_mismatch' });
  });

  it('concurrent claim-next calls in one process never both win one item (compare-and-set)', async () => {
    const ws = await createWorkspace({ backend: 'optimistic_tracker' });
    made.push(ws);
    await addItems(ws, ['cas']);
    const results = await Promise.all(['h1', 'h2', 'h3', 'h4'].map((h) => claimNext(input(ws, h))));
    expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
  });

  it('is blocked when claims are disabled', async () => {
    const ws = await createWorkspace({ backend: 'optimistic_tracker' });
    made.push(ws);
    const { readFile, writeFile } = await import('node:fs/promises');
    const file = `${ws.root}/dev-nexus.project.json`;
    const config = JSON.parse(await readFile(file, 'utf8'));
    config.automation.workItemClaims.enabled = false;
    await writeFile(file, JSON.stringify(config));
    await addItems(ws, ['x']);
    expect(await claimNext(input(ws, 'h'))).toMatchObject({ status: 'blocked', readiness: { blockers: [{ code: 'claims_disabled' }] } });
  });
});

describe('readiness (the model behind automation status)', () => {
  it('reports backend, profile, env var and adapter without a round trip, and the schema version on request', async () => {
    const { checkReadiness } = await import('../../src/automation/authority.js');
    const { openWorkspace } = await import('../../src/automation/workspace.js');
    const ws = await postgresWorkspace();
    const workspace = await openWorkspace({ workspaceRoot: ws.root, home: ws.home, env: ws.env });
    const quick = await checkReadiness(workspace);
    expect(quick).toMatchObject({
      enabled: true,
      backend: 'postgres',
      postgresProfileId: 'shared-claims',
      profileExists: true,
      connectionStringEnv: 'DEV_NEXUS_TEST_CLAIMS_URL',
      connectionStringEnvPresent: true,
      adapter: 'node_postgres',
      adapterAvailable: true,
      schema: db.schema,
      connection: null,
      ready: true,
      blockers: [],
    });
    const checked = await checkReadiness(workspace, { checkConnection: true });
    expect(checked.connection).toEqual({ reachable: true, schemaVersion: 1, expectedSchemaVersion: 1, error: null });
    expect(JSON.stringify(checked)).not.toContain(new URL(db.url).password);
  });
});
