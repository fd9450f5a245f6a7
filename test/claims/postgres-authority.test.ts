// Real-PostgreSQL tests of every operation and every rejection reason.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import type { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import type { ClaimIdentity, ClaimOwner } from '../../src/claims/types.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let authority: PostgresClaimAuthority;
const projectId = 'proj';
const trackerId = 'local';
let n = 0;
const item = (): ClaimIdentity => ({ projectId, trackerId, workItemId: `item-${++n}` });
const owner = (host: string): ClaimOwner => ({ hostId: host, agentId: 'agent', ownerId: `${host}/agent` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await createTestSchema('authority');
  authority = await db.authority();
});
afterAll(async () => {
  const report = checkClaimEvents(await authority.events(projectId));
  expect(report.violations).toEqual([]);
  await db.close();
});

describe('claim', () => {
  it('grants the first claim with fencing token 1 and database times', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    const result = await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000, metadata: { componentId: 'web' } });
    expect(result.status).toBe('claimed');
    if (result.status !== 'claimed') return;
    expect(result.leaseToken).toBe(leaseToken);
    expect(result.alreadyHeld).toBe(false);
    expect(result.claim).toMatchObject({ identity, owner: owner('host-a'), fencingToken: 1, state: 'active', heartbeatCount: 0, reclaimedFrom: null, metadata: { componentId: 'web' } });
    expect(result.claim.claimedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const leaseMs = Date.parse(result.claim.expiresAt) - Date.parse(result.claim.claimedAt);
    expect(leaseMs).toBeGreaterThanOrEqual(60_000);
    expect(leaseMs).toBeLessThan(60_050);
    expect(JSON.stringify(result.claim)).not.toContain(leaseToken);
  });

  it('a second owner loses the race and sees the holder, never its lease token', async () => {
    const identity = item();
    const winnerToken = randomUUID();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken: winnerToken, leaseDurationMs: 60_000 });
    const lost = await authority.claim({ identity, owner: owner('host-b'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    expect(lost.status).toBe('lost_race');
    if (lost.status !== 'lost_race') return;
    expect(lost.holder.owner.hostId).toBe('host-a');
    expect(lost.holder.fencingToken).toBe(1);
    expect(JSON.stringify(lost)).not.toContain(winnerToken);
  });

  it('a retry with the same lease token returns the caller own claim without a new grant', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    const first = await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
    const retry = await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
    expect(retry).toMatchObject({ status: 'claimed', alreadyHeld: true });
    if (first.status !== 'claimed' || retry.status !== 'claimed') return;
    expect(retry.claim.fencingToken).toBe(first.claim.fencingToken);
    const events = (await authority.events(projectId)).filter((e) => e.identity.workItemId === identity.workItemId);
    expect(events.map((e) => e.kind)).toEqual(['granted']);
  });

  it('reclaims an expired claim with the next fencing token and records what it took over', async () => {
    const identity = item();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken: randomUUID(), leaseDurationMs: 30 });
    await sleep(60);
    const reclaim = await authority.claim({ identity, owner: owner('host-b'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    expect(reclaim.status).toBe('claimed');
    if (reclaim.status !== 'claimed') return;
    expect(reclaim.claim.fencingToken).toBe(2);
    expect(reclaim.claim.reclaimedFrom).toEqual({ fencingToken: 1, owner: owner('host-a') });
    const events = (await authority.events(projectId)).filter((e) => e.identity.workItemId === identity.workItemId);
    expect(events.map((e) => [e.kind, e.fencingToken])).toEqual([['granted', 1], ['reclaimed', 2]]);
  });

  it('claims a released item again with the next fencing token and no reclaimedFrom', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
    await authority.release({ identity, leaseToken });
    const again = await authority.claim({ identity, owner: owner('host-b'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    expect(again).toMatchObject({ status: 'claimed', claim: { fencingToken: 2, reclaimedFrom: null, owner: owner('host-b') } });
  });

  it('stores only a SHA-256 hash of the lease token', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
    const { rows } = await db.admin.query(`SELECT row_to_json(c)::text AS j, encode(lease_token_sha256, 'hex') AS h FROM "${db.schema}".work_item_claims c WHERE work_item_id = $1`, [identity.workItemId]);
    expect(rows[0].j).not.toContain(leaseToken);
    expect(rows[0].h).toHaveLength(64);
    const events = await db.admin.query(`SELECT row_to_json(e)::text AS j FROM "${db.schema}".work_item_claim_events e`);
    expect(events.rows.map((r) => r.j).join('\n')).not.toContain(leaseToken);
  });
});

describe('heartbeat', () => {
  it('extends the expiry from database time and counts, fencing unchanged', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    const claimed = await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 1_000 });
    if (claimed.status !== 'claimed') throw new Error('setup');
    const beat = await authority.heartbeat({ identity, leaseToken, fencingToken: 1, leaseDurationMs: 120_000 });
    expect(beat.status).toBe('heartbeat');
    if (beat.status !== 'heartbeat') return;
    expect(beat.claim.fencingToken).toBe(1);
    expect(beat.claim.heartbeatCount).toBe(1);
    expect(beat.claim.expiresAt > claimed.claim.expiresAt).toBe(true);
    expect(Date.parse(beat.claim.expiresAt) - Date.parse(beat.claim.lastHeartbeatAt!)).toBeGreaterThanOrEqual(119_999);
  });

  it.each([
    ['missing_claim', async (id: ClaimIdentity) => ({ identity: id, leaseToken: randomUUID() })],
    ['token_mismatch', async (id: ClaimIdentity) => {
      await authority.claim({ identity: id, owner: owner('host-a'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
      return { identity: id, leaseToken: randomUUID() };
    }],
    ['fencing_token_mismatch', async (id: ClaimIdentity) => {
      const leaseToken = randomUUID();
      await authority.claim({ identity: id, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
      return { identity: id, leaseToken, fencingToken: 7 };
    }],
    ['expired', async (id: ClaimIdentity) => {
      const leaseToken = randomUUID();
      await authority.claim({ identity: id, owner: owner('host-a'), leaseToken, leaseDurationMs: 20 });
      await sleep(50);
      return { identity: id, leaseToken };
    }],
    ['released', async (id: ClaimIdentity) => {
      const leaseToken = randomUUID();
      await authority.claim({ identity: id, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
      await authority.release({ identity: id, leaseToken });
      return { identity: id, leaseToken };
    }],
  ] as const)('is rejected with reason %s, and so is a release (but for an own released claim)', async (reason, setup) => {
    const identity = item();
    const proof = await setup(identity);
    const before = await db.admin.query(`SELECT count(*)::int AS n FROM "${db.schema}".work_item_claim_events`);
    const beat = await authority.heartbeat({ ...proof, leaseDurationMs: 60_000 });
    expect(beat).toMatchObject({ status: 'rejected', reason });
    const verdict = await authority.verify(proof);
    expect(verdict.status).toBe(reason === 'missing_claim' ? 'missing' : reason);
    const release = await authority.release(proof);
    if (reason === 'released') expect(release).toMatchObject({ status: 'released', alreadyReleased: true });
    else expect(release).toMatchObject({ status: 'rejected', reason });
    const after = await db.admin.query(`SELECT count(*)::int AS n FROM "${db.schema}".work_item_claim_events`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});

describe('release and verify', () => {
  it('releases once, records who released, and is idempotent for the same lease token', async () => {
    const identity = item();
    const leaseToken = randomUUID();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken, leaseDurationMs: 60_000 });
    expect((await authority.verify({ identity, leaseToken, fencingToken: 1 })).status).toBe('verified');
    const first = await authority.release({ identity, leaseToken, fencingToken: 1, releasedBy: 'host-a/agent' });
    expect(first).toMatchObject({ status: 'released', alreadyReleased: false, claim: { state: 'released', releasedBy: 'host-a/agent' } });
    const second = await authority.release({ identity, leaseToken, fencingToken: 1 });
    expect(second).toMatchObject({ status: 'released', alreadyReleased: true });
    const kinds = (await authority.events(projectId)).filter((e) => e.identity.workItemId === identity.workItemId).map((e) => e.kind);
    expect(kinds).toEqual(['granted', 'released']);
  });

  it('a stale lease or fencing token can neither heartbeat nor release the newer claim', async () => {
    const identity = item();
    const oldToken = randomUUID();
    await authority.claim({ identity, owner: owner('host-a'), leaseToken: oldToken, leaseDurationMs: 20 });
    await sleep(50);
    const newToken = randomUUID();
    const newer = await authority.claim({ identity, owner: owner('host-b'), leaseToken: newToken, leaseDurationMs: 60_000 });
    expect(newer).toMatchObject({ status: 'claimed', claim: { fencingToken: 2 } });
    expect(await authority.heartbeat({ identity, leaseToken: oldToken, fencingToken: 1, leaseDurationMs: 60_000 })).toMatchObject({ status: 'rejected', reason: 'token_mismatch' });
    expect(await authority.release({ identity, leaseToken: oldToken, fencingToken: 1 })).toMatchObject({ status: 'rejected', reason: 'token_mismatch' });
    expect(await authority.release({ identity, leaseToken: newToken, fencingToken: 1 })).toMatchObject({ status: 'rejected', reason: 'fencing_token_mismatch' });
    expect((await authority.verify({ identity, leaseToken: newToken, fencingToken: 2 })).status).toBe('verified');
  });
});

describe('inspect', () => {
  it('judges active, stale and released at one database instant', async () => {
    const tracker = `inspect-${randomUUID().slice(0, 8)}`;
    const at = (workItemId: string): ClaimIdentity => ({ projectId, trackerId: tracker, workItemId });
    await authority.claim({ identity: at('a'), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    await authority.claim({ identity: at('s'), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 10 });
    const token = randomUUID();
    await authority.claim({ identity: at('r'), owner: owner('h'), leaseToken: token, leaseDurationMs: 60_000 });
    await authority.release({ identity: at('r'), leaseToken: token });
    await sleep(30);
    const result = await authority.inspect({ projectId, trackerId: tracker });
    expect(result.active.map((c) => c.identity.workItemId)).toEqual(['a']);
    expect(result.stale.map((c) => c.identity.workItemId)).toEqual(['s']);
    expect(result.released.map((c) => c.identity.workItemId)).toEqual(['r']);
    expect(result.dbNow).toMatch(/Z$/);
    const empty = await authority.inspect({ projectId: 'nobody' });
    expect(empty).toMatchObject({ active: [], stale: [], released: [] });
    expect(empty.dbNow).toMatch(/Z$/);
  });
});
