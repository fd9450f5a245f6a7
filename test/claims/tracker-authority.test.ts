// The optimistic_tracker authority over an in-memory compare-and-set store (the store's CAS
// on real files is tested in test/trackers/ and through claim-next in test/automation/).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TrackerClaimAuthority, type StoredTrackerClaim, type TrackerClaimStore } from '../../src/claims/tracker/authority.js';

function memoryStore(ids: string[], options: { loseFirstWrites?: number } = {}): TrackerClaimStore & { writes: number } {
  const items = new Map(ids.map((id) => [id, { revision: 1, claim: null as StoredTrackerClaim | null }]));
  let toLose = options.loseFirstWrites ?? 0;
  const store = {
    projectId: 'p',
    trackerId: 'local',
    writes: 0,
    async read(id: string) {
      const item = items.get(id);
      return item ? { revision: item.revision, claim: item.claim && structuredClone(item.claim) } : null;
    },
    async write(id: string, expected: number, claim: StoredTrackerClaim) {
      const item = items.get(id)!;
      if (toLose > 0) {
        toLose -= 1;
        item.revision += 1; // another writer got there first
        return false;
      }
      if (item.revision !== expected) return false;
      store.writes += 1;
      items.set(id, { revision: expected + 1, claim: structuredClone(claim) });
      return true;
    },
    async list() {
      return [...items].map(([workItemId, item]) => ({ workItemId, claim: item.claim }));
    },
  };
  return store;
}

const identity = (workItemId = 'a') => ({ projectId: 'p', trackerId: 'local', workItemId });
const owner = (host: string) => ({ hostId: host, agentId: null, ownerId: host });

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => { now += ms; } };
}

describe('optimistic_tracker authority', () => {
  it('claims, loses, heartbeats, releases and reclaims with fencing +1 per grant, judged on its clock', async () => {
    const time = clock();
    const store = memoryStore(['a']);
    const authority = new TrackerClaimAuthority({ store, now: time.now });
    const token = randomUUID();
    const first = await authority.claim({ identity: identity(), owner: owner('h1'), leaseToken: token, leaseDurationMs: 1000 });
    expect(first).toMatchObject({ status: 'claimed', alreadyHeld: false, claim: { fencingToken: 1, expiresAt: '2026-01-01T00:00:01.000000Z' } });
    expect(await authority.claim({ identity: identity(), owner: owner('h1'), leaseToken: token, leaseDurationMs: 1000 })).toMatchObject({ status: 'claimed', alreadyHeld: true });
    expect(await authority.claim({ identity: identity(), owner: owner('h2'), leaseToken: randomUUID(), leaseDurationMs: 1000 })).toMatchObject({ status: 'lost_race', holder: { fencingToken: 1, owner: owner('h1') } });
    time.advance(500);
    expect(await authority.heartbeat({ identity: identity(), leaseToken: token, fencingToken: 1, leaseDurationMs: 1000 })).toMatchObject({ status: 'heartbeat', claim: { heartbeatCount: 1, expiresAt: '2026-01-01T00:00:01.500000Z' } });
    time.advance(1500);
    expect((await authority.verify({ identity: identity(), leaseToken: token })).status).toBe('expired');
    const reclaim = await authority.claim({ identity: identity(), owner: owner('h2'), leaseToken: randomUUID(), leaseDurationMs: 1000 });
    expect(reclaim).toMatchObject({ status: 'claimed', claim: { fencingToken: 2, reclaimedFrom: { fencingToken: 1, owner: owner('h1') } } });
    expect(await authority.release({ identity: identity(), leaseToken: token })).toMatchObject({ status: 'rejected', reason: 'token_mismatch' });
    const inspect = await authority.inspect({ projectId: 'p' });
    expect(inspect.active.map((c) => c.fencingToken)).toEqual([2]);
    // The lease token itself is never stored, only its hash.
    expect(JSON.stringify(await store.list())).not.toContain(token);
  });

  it.each([
    ['missing_claim', 'missing'],
    ['fencing_token_mismatch', 'fencing_token_mismatch'],
    ['released', 'released'],
  ] as const)('refuses a heartbeat with %s (verify says %s)', async (reason, verdict) => {
    const authority = new TrackerClaimAuthority({ store: memoryStore(['a']), now: clock().now });
    const token = randomUUID();
    if (reason !== 'missing_claim') await authority.claim({ identity: identity(), owner: owner('h'), leaseToken: token, leaseDurationMs: 1000 });
    if (reason === 'released') await authority.release({ identity: identity(), leaseToken: token });
    const proof = { identity: identity(), leaseToken: token, fencingToken: reason === 'fencing_token_mismatch' ? 9 : 1 };
    expect(await authority.heartbeat({ ...proof, leaseDurationMs: 1000 })).toMatchObject({ status: 'rejected', reason });
    expect((await authority.verify(proof)).status).toBe(verdict);
  });

  it('re-decides after a lost compare-and-set, and gives up with serialization_failure after maxAttempts', async () => {
    const store = memoryStore(['a'], { loseFirstWrites: 2 });
    const authority = new TrackerClaimAuthority({ store, now: clock().now, maxAttempts: 3 });
    expect((await authority.claim({ identity: identity(), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 1000 })).status).toBe('claimed');
    const stubborn = new TrackerClaimAuthority({ store: memoryStore(['a'], { loseFirstWrites: 10 }), now: clock().now, maxAttempts: 3 });
    await expect(stubborn.claim({ identity: identity(), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 1000 })).rejects.toMatchObject({ code: 'serialization_failure' });
  });

  it('refuses an unknown work item or another tracker with invalid_input', async () => {
    const authority = new TrackerClaimAuthority({ store: memoryStore(['a']) });
    await expect(authority.claim({ identity: identity('nope'), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 1000 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(authority.verify({ identity: { ...identity(), trackerId: 'other' }, leaseToken: randomUUID() })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
