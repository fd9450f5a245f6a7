// Unit tests of PostgresClaimAuthority over a scripted SqlClient: result shapes, round
// trips, retries, fault injection, input validation, and that the lease token never
// reaches the SQL client.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { PostgresClaimAuthority, hashLeaseToken, toRecord } from '../../src/claims/postgres/authority.js';
import { claimStatements } from '../../src/claims/postgres/statements.js';
import type { ClaimIdentity, ClaimOwner, ClaimRequest, LeaseProof, RejectionReason, VerifyStatus } from '../../src/claims/types.js';
import { MAX_LEASE_DURATION_MS } from '../../src/claims/validate.js';
import { DB_NOW, FakeSqlClient, T0, T1, claimRow, missingRow, readRow } from './fake-sql-client.js';

const identity: ClaimIdentity = { projectId: 'proj', trackerId: 'local', workItemId: 'item-1' };
const owner: ClaimOwner = { hostId: 'host-a', agentId: 'agent', ownerId: 'host-a/agent' };
const LEASE = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const OTHER_LEASE = '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function setup(maxAttempts?: number) {
  const fake = new FakeSqlClient();
  const authority = new PostgresClaimAuthority(maxAttempts === undefined ? { client: fake } : { client: fake, maxAttempts });
  return { fake, authority };
}

const claimRequest = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  identity,
  owner,
  leaseToken: LEASE,
  leaseDurationMs: 60_000,
  metadata: { componentId: 'web' },
  ...overrides,
});

/** Await a promise that must reject with a ClaimAuthorityError, and return the error. */
async function claimError(promise: Promise<unknown>): Promise<ClaimAuthorityError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    return error as ClaimAuthorityError;
  }
  throw new Error('expected a ClaimAuthorityError, but the call succeeded');
}

/** Every string reachable in a value, with Buffers rendered in the encodings a leak could hide in. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Buffer.isBuffer(value)) return [value.toString('utf8'), value.toString('latin1'), value.toString('hex'), value.toString('base64')];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return value === null || value === undefined ? [] : [String(value)];
}

describe('fake SQL client', () => {
  it('answers in order, records calls and flags unexpected statements', async () => {
    const fake = new FakeSqlClient().rows('claim', { a: 1 }).fail('read_claim', new Error('boom'));
    const statements = claimStatements('dev_nexus');
    await expect(fake.query(statements.claim, [1])).resolves.toEqual([{ a: 1 }]);
    await expect(fake.query(statements.heartbeat, [])).rejects.toThrow('expected read_claim, got heartbeat');
    await expect(fake.query(statements.readClaim, [])).rejects.toThrow('no scripted response');
    expect(fake.ops()).toEqual(['claim', 'heartbeat', 'read_claim']);
    expect(fake.problems).toHaveLength(2);
  });
});

describe('claim', () => {
  it('returns claimed with the mapped record in one round trip', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow({ metadata: { componentId: 'web' }, db_now: DB_NOW }));
    const result = await authority.claim(claimRequest());
    expect(result).toEqual({
      status: 'claimed',
      leaseToken: LEASE,
      alreadyHeld: false,
      dbNow: DB_NOW,
      claim: {
        identity,
        owner,
        fencingToken: 1,
        state: 'active',
        claimedAt: T0,
        expiresAt: T1,
        lastHeartbeatAt: null,
        heartbeatCount: 0,
        releasedAt: null,
        releasedBy: null,
        reclaimedFrom: null,
        metadata: { componentId: 'web' },
        createdAt: T0,
        updatedAt: T0,
      },
    });
    expect(fake.ops()).toEqual(['claim']);
    expect(fake.pending).toBe(0);
  });

  it('sends identity, lease hash, owner, duration and metadata JSON in statement order', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow());
    await authority.claim(claimRequest({ owner: { hostId: 'h', agentId: null, ownerId: 'o' } }));
    const [call] = fake.calls;
    expect(call?.name).toBe(claimStatements('dev_nexus').claim.name);
    expect(call?.values).toEqual(['proj', 'local', 'item-1', sha256(LEASE), 'h', null, 'o', 60_000, '{"componentId":"web"}']);
  });

  it('sends {} as metadata when none is given', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow());
    const { metadata: _omitted, ...request } = claimRequest();
    await authority.claim(request);
    expect(fake.calls[0]?.values[8]).toBe('{}');
  });

  it('maps a reclaim (reclaimed_from columns) to reclaimedFrom', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow({
      fencing_token: '2',
      host_id: 'host-b',
      owner_id: 'host-b/agent',
      reclaimed_from_fencing_token: '1',
      reclaimed_from_host_id: 'host-a',
      reclaimed_from_agent_id: null,
      reclaimed_from_owner_id: 'host-a/x',
    }));
    const result = await authority.claim(claimRequest());
    expect(result).toMatchObject({
      status: 'claimed',
      claim: { fencingToken: 2, owner: { hostId: 'host-b' }, reclaimedFrom: { fencingToken: 1, owner: { hostId: 'host-a', agentId: null, ownerId: 'host-a/x' } } },
    });
  });

  it('returns lost_race with the live holder after one extra read', async () => {
    const { fake, authority } = setup();
    fake.rows('claim').rows('read_claim', readRow('token_mismatch', true, { host_id: 'host-b', fencing_token: '4', db_now: '2025-01-01T00:00:00.000999Z' }));
    const result = await authority.claim(claimRequest());
    expect(result.status).toBe('lost_race');
    if (result.status !== 'lost_race') return;
    expect(result.holder.owner.hostId).toBe('host-b');
    expect(result.holder.fencingToken).toBe(4);
    expect(result.dbNow).toBe('2025-01-01T00:00:00.000999Z');
    expect(result).not.toHaveProperty('leaseToken');
    expect(JSON.stringify(result)).not.toContain(LEASE);
    expect(fake.ops()).toEqual(['claim', 'read_claim']);
    expect(fake.callsTo('read_claim')[0]?.values).toEqual(['proj', 'local', 'item-1', sha256(LEASE), null]);
  });

  it('after an ambiguous commit, a retry with the same lease token returns the own claim as alreadyHeld', async () => {
    const { fake, authority } = setup();
    // The fake "commits" the grant, then the connection drops before the answer arrives.
    fake.fail('claim', new ClaimAuthorityError('connection_lost', 'the connection closed during COMMIT; retry with the same lease token', { ambiguous: true }));
    const error = await claimError(authority.claim(claimRequest()));
    expect(error.code).toBe('connection_lost');
    expect(error.ambiguous).toBe(true);
    expect(fake.ops()).toEqual(['claim']); // an ambiguous failure is the caller's to retry, not re-run blindly

    // The retry: the statement finds the item held (by us), the read verifies our token.
    fake.rows('claim').rows('read_claim', readRow('verified', true, { fencing_token: '3', db_now: '2025-01-01T00:00:01.000000Z' }));
    const retry = await authority.claim(claimRequest());
    expect(retry).toMatchObject({ status: 'claimed', alreadyHeld: true, leaseToken: LEASE, dbNow: '2025-01-01T00:00:01.000000Z', claim: { fencingToken: 3 } });
    expect(fake.ops()).toEqual(['claim', 'claim', 'read_claim']);
    const hashes = fake.calls.map((call) => call.values[3]);
    expect(hashes).toEqual([sha256(LEASE), sha256(LEASE), sha256(LEASE)]);
  });

  it.each([
    ['missing', false],
    ['token_mismatch', false],
    ['expired', false],
    ['released', false],
  ] as const)('retries the claim statement when the read says %s (live=%s): the holder went away in between', async (verdict, live) => {
    const { fake, authority } = setup();
    fake
      .rows('claim')
      .rows('read_claim', verdict === 'missing' ? missingRow() : readRow(verdict, live))
      .rows('claim', claimRow({ fencing_token: '2' }));
    const result = await authority.claim(claimRequest());
    expect(result).toMatchObject({ status: 'claimed', alreadyHeld: false, claim: { fencingToken: 2 } });
    expect(fake.ops()).toEqual(['claim', 'read_claim', 'claim']);
  });

  it('bounds the claim retries by maxAttempts and then fails with serialization_failure', async () => {
    const { fake, authority } = setup(3);
    for (let i = 0; i < 3; i += 1) fake.rows('claim').rows('read_claim', missingRow());
    fake.rows('claim', claimRow()); // would succeed, but must not be reached
    const error = await claimError(authority.claim(claimRequest()));
    expect(error.code).toBe('serialization_failure');
    expect(error.message).toContain('item-1');
    expect(error.message).not.toContain(LEASE);
    expect(fake.callsTo('claim')).toHaveLength(3);
    expect(fake.callsTo('read_claim')).toHaveLength(3);
    expect(fake.pending).toBe(1);
  });

  it('uses 5 attempts by default', async () => {
    const { fake, authority } = setup();
    for (let i = 0; i < 6; i += 1) fake.rows('claim').rows('read_claim', missingRow());
    expect((await claimError(authority.claim(claimRequest()))).code).toBe('serialization_failure');
    expect(fake.callsTo('claim')).toHaveLength(5);
  });
});

describe('heartbeat', () => {
  it('returns heartbeat with the renewed record in one round trip', async () => {
    const { fake, authority } = setup();
    fake.rows('heartbeat', claimRow({ heartbeat_count: 2, last_heartbeat_at: '2025-01-01T00:00:30.000000Z', db_now: '2025-01-01T00:00:30.000001Z' }));
    const result = await authority.heartbeat({ identity, leaseToken: LEASE, fencingToken: 1, leaseDurationMs: 30_000 });
    expect(result).toMatchObject({ status: 'heartbeat', dbNow: '2025-01-01T00:00:30.000001Z', claim: { heartbeatCount: 2, lastHeartbeatAt: '2025-01-01T00:00:30.000000Z', fencingToken: 1 } });
    expect(fake.ops()).toEqual(['heartbeat']);
    expect(fake.calls[0]?.values).toEqual(['proj', 'local', 'item-1', sha256(LEASE), 1, 30_000]);
  });

  it('sends a null fencing token when none is given', async () => {
    const { fake, authority } = setup();
    fake.rows('heartbeat', claimRow());
    await authority.heartbeat({ identity, leaseToken: LEASE, leaseDurationMs: 30_000 });
    expect(fake.calls[0]?.values[4]).toBeNull();
  });

  it.each([
    ['missing', 'missing_claim'],
    ['token_mismatch', 'token_mismatch'],
    ['fencing_token_mismatch', 'fencing_token_mismatch'],
    ['expired', 'expired'],
    ['released', 'released'],
  ] as const satisfies readonly (readonly [VerifyStatus, RejectionReason])[])('is rejected with reason %s → %s, with the current claim', async (verdict, reason) => {
    const { fake, authority } = setup();
    fake.rows('heartbeat').rows('read_claim', verdict === 'missing' ? missingRow('2025-01-01T00:00:02.000000Z') : readRow(verdict, false, { db_now: '2025-01-01T00:00:02.000000Z', fencing_token: '5' }));
    const result = await authority.heartbeat({ identity, leaseToken: LEASE, fencingToken: 5, leaseDurationMs: 30_000 });
    expect(result.status).toBe('rejected');
    if (result.status !== 'rejected') return;
    expect(result.reason).toBe(reason);
    expect(result.dbNow).toBe('2025-01-01T00:00:02.000000Z');
    if (verdict === 'missing') expect(result.current).toBeNull();
    else expect(result.current).toMatchObject({ identity, fencingToken: 5 });
    expect(fake.ops()).toEqual(['heartbeat', 'read_claim']);
    expect(fake.callsTo('read_claim')[0]?.values).toEqual(['proj', 'local', 'item-1', sha256(LEASE), 5]);
  });

  it('refuses with serialization_failure when the read finds the lease live after the write did not', async () => {
    const { fake, authority } = setup();
    fake.rows('heartbeat').rows('read_claim', readRow('verified', true));
    expect((await claimError(authority.heartbeat({ identity, leaseToken: LEASE, leaseDurationMs: 1_000 }))).code).toBe('serialization_failure');
  });
});

describe('release', () => {
  it('returns released with alreadyReleased false on success', async () => {
    const { fake, authority } = setup();
    fake.rows('release', claimRow({ state: 'released', released_at: '2025-01-01T00:00:10.000000Z', released_by: 'operator' }));
    const result = await authority.release({ identity, leaseToken: LEASE, releasedBy: 'operator' });
    expect(result).toMatchObject({ status: 'released', alreadyReleased: false, claim: { state: 'released', releasedAt: '2025-01-01T00:00:10.000000Z', releasedBy: 'operator' } });
    expect(fake.calls[0]?.values).toEqual(['proj', 'local', 'item-1', sha256(LEASE), null, 'operator']);
  });

  it('sends a null releasedBy when none is given', async () => {
    const { fake, authority } = setup();
    fake.rows('release', claimRow({ state: 'released' }));
    await authority.release({ identity, leaseToken: LEASE, fencingToken: 2 });
    expect(fake.calls[0]?.values.slice(4)).toEqual([2, null]);
  });

  it('is idempotent: a second release of the own lease (verdict released) is released, alreadyReleased', async () => {
    const { fake, authority } = setup();
    fake.rows('release').rows('read_claim', readRow('released', false, { state: 'released', released_at: T1, db_now: '2025-01-01T00:05:00.000000Z' }));
    const result = await authority.release({ identity, leaseToken: LEASE });
    expect(result).toMatchObject({ status: 'released', alreadyReleased: true, dbNow: '2025-01-01T00:05:00.000000Z', claim: { state: 'released', releasedAt: T1 } });
    expect(fake.ops()).toEqual(['release', 'read_claim']);
  });

  it.each([
    ['missing', 'missing_claim'],
    ['token_mismatch', 'token_mismatch'],
    ['fencing_token_mismatch', 'fencing_token_mismatch'],
    ['expired', 'expired'],
  ] as const)('is rejected with reason %s → %s', async (verdict, reason) => {
    const { fake, authority } = setup();
    fake.rows('release').rows('read_claim', verdict === 'missing' ? missingRow() : readRow(verdict, verdict === 'token_mismatch'));
    const result = await authority.release({ identity, leaseToken: LEASE });
    expect(result).toMatchObject({ status: 'rejected', reason, dbNow: DB_NOW });
    if (result.status !== 'rejected') return;
    expect(result.current === null).toBe(verdict === 'missing');
  });
});

describe('verify', () => {
  it.each(['verified', 'token_mismatch', 'fencing_token_mismatch', 'expired', 'released'] as const)('passes the verdict %s through with the claim', async (verdict) => {
    const { fake, authority } = setup();
    fake.rows('read_claim', readRow(verdict, verdict === 'verified', { fencing_token: '7' }));
    const result = await authority.verify({ identity, leaseToken: LEASE, fencingToken: 7 });
    expect(result).toMatchObject({ status: verdict, dbNow: DB_NOW, claim: { fencingToken: 7, identity } });
    expect(fake.ops()).toEqual(['read_claim']);
  });

  it('returns missing with no claim, keeping the database time', async () => {
    const { fake, authority } = setup();
    fake.rows('read_claim', missingRow('2025-02-02T00:00:00.000000Z'));
    expect(await authority.verify({ identity, leaseToken: LEASE })).toEqual({ status: 'missing', claim: null, dbNow: '2025-02-02T00:00:00.000000Z' });
  });
});

describe('inspect, events and checkSchema', () => {
  it('sorts inspected claims into active, stale and released, skipping the null row', async () => {
    const { fake, authority } = setup();
    fake.rows(
      'inspect',
      { ...claimRow({ work_item_id: 'a' }), status: 'active' },
      { ...claimRow({ work_item_id: 'b' }), status: 'stale' },
      { ...claimRow({ work_item_id: 'c', state: 'released' }), status: 'released' },
    );
    const result = await authority.inspect({ projectId: 'proj', trackerId: 'local', limit: 10 });
    expect(result.dbNow).toBe(DB_NOW);
    expect([result.active, result.stale, result.released].map((list) => list.map((c) => c.identity.workItemId))).toEqual([['a'], ['b'], ['c']]);
    expect(fake.calls[0]?.values.slice(0, 3)).toEqual(['proj', 'local', 10]);

    fake.rows('inspect', { ...missingRow(), status: 'stale' });
    expect(await authority.inspect({ projectId: 'proj' })).toEqual({ dbNow: DB_NOW, active: [], stale: [], released: [] });
    expect(fake.calls[1]?.values.slice(0, 3)).toEqual(['proj', null, 1000]);
  });

  it('maps event rows', async () => {
    const { fake, authority } = setup();
    fake.rows('events', { event_id: '12', project_id: 'proj', tracker_id: 'local', work_item_id: 'item-1', kind: 'released', fencing_token: '3', host_id: 'h', agent_id: null, owner_id: 'o', at: T0, expires_at: null });
    expect(await authority.events('proj')).toEqual([
      { eventId: 12, identity, kind: 'released', fencingToken: 3, owner: { hostId: 'h', agentId: null, ownerId: 'o' }, at: T0, expiresAt: null },
    ]);
  });

  it.each([
    [[{ version: 1 }], null],
    [[{ version: null }], 'schema_version_mismatch'],
    [[{ version: 2 }], 'schema_version_mismatch'],
  ] as const)('checkSchema with rows %j → %s', async (rows, code) => {
    const { fake, authority } = setup();
    fake.rows('schema_version', ...rows.map((row) => ({ ...row })));
    if (code === null) await expect(authority.checkSchema()).resolves.toEqual({ version: 1 });
    else expect((await claimError(authority.checkSchema())).code).toBe(code);
  });
});

describe('the lease token never reaches the SQL client', () => {
  it('only its 32-byte SHA-256 appears, across claim, lost race, heartbeat, release and verify', async () => {
    const { fake, authority } = setup();
    const proof: LeaseProof = { identity, leaseToken: LEASE, fencingToken: 1 };
    fake
      .rows('claim', claimRow())
      .rows('claim').rows('read_claim', readRow('token_mismatch', true))
      .rows('heartbeat', claimRow())
      .rows('heartbeat').rows('read_claim', readRow('expired', false))
      .rows('release', claimRow({ state: 'released' }))
      .rows('release').rows('read_claim', missingRow())
      .rows('read_claim', readRow('verified', true));
    await authority.claim(claimRequest());
    await authority.claim(claimRequest({ leaseToken: OTHER_LEASE }));
    await authority.heartbeat({ ...proof, leaseDurationMs: 1_000 });
    await authority.heartbeat({ ...proof, leaseDurationMs: 1_000 });
    await authority.release(proof);
    await authority.release(proof);
    await authority.verify(proof);
    expect(fake.calls).toHaveLength(10);
    expect(fake.pending).toBe(0);

    for (const call of fake.calls) {
      const hash = call.values[3];
      expect(Buffer.isBuffer(hash)).toBe(true);
      expect((hash as Buffer).length).toBe(32);
      const token = (hash as Buffer).equals(sha256(OTHER_LEASE)) ? OTHER_LEASE : LEASE;
      expect(hash).toEqual(sha256(token));
      for (const secret of [LEASE, OTHER_LEASE, LEASE.replaceAll('-', ''), LEASE.toUpperCase()]) {
        for (const text of [call.name, call.text, ...strings(call.values)]) expect(text).not.toContain(secret);
      }
    }
    expect(fake.calls.filter((call) => (call.values[3] as Buffer).equals(sha256(OTHER_LEASE)))).toHaveLength(2);
  });

  it('hashLeaseToken is SHA-256 of the UTF-8 token', () => {
    expect(hashLeaseToken(LEASE).toString('hex')).toBe(createHash('sha256').update(LEASE).digest('hex'));
    expect(hashLeaseToken(LEASE)).toHaveLength(32);
    expect(hashLeaseToken(LEASE).equals(hashLeaseToken(OTHER_LEASE))).toBe(false);
  });
});

describe('error paths', () => {
  const serialization = () => new ClaimAuthorityError('serialization_failure', 'could not serialize access', { causeCode: '40001' });

  it('re-runs a statement after serialization failures up to maxAttempts, then surfaces serialization_failure', async () => {
    const { fake, authority } = setup(3);
    fake.fail('heartbeat', serialization()).fail('heartbeat', serialization()).fail('heartbeat', serialization()).rows('heartbeat', claimRow());
    const error = await claimError(authority.heartbeat({ identity, leaseToken: LEASE, leaseDurationMs: 1_000 }));
    expect(error.code).toBe('serialization_failure');
    expect(error.cause_code).toBe('40001');
    expect(fake.ops()).toEqual(['heartbeat', 'heartbeat', 'heartbeat']);
    expect(fake.pending).toBe(1);
  });

  it('succeeds when a serialization failure clears before maxAttempts', async () => {
    const { fake, authority } = setup(3);
    fake.fail('claim', serialization()).fail('claim', serialization()).rows('claim', claimRow());
    expect(await authority.claim(claimRequest())).toMatchObject({ status: 'claimed', alreadyHeld: false });
    expect(fake.ops()).toEqual(['claim', 'claim', 'claim']);
    // Every re-run sends the same values.
    expect(new Set(fake.calls.map((call) => JSON.stringify(call.values))).size).toBe(1);
  });

  it('retries a serialization failure of the read too', async () => {
    const { fake, authority } = setup(2);
    fake.fail('read_claim', serialization()).rows('read_claim', readRow('verified', true));
    expect((await authority.verify({ identity, leaseToken: LEASE })).status).toBe('verified');
    expect(fake.ops()).toEqual(['read_claim', 'read_claim']);
  });

  it.each([
    ['connection_lost', true],
    ['statement_timeout', true],
    ['lock_timeout', false],
    ['permission_denied', false],
    ['schema_missing', false],
  ] as const)('does not re-run %s and surfaces it unchanged', async (code, ambiguous) => {
    const { fake, authority } = setup();
    const original = new ClaimAuthorityError(code, `failure ${code}`, { ambiguous });
    fake.fail('release', original).rows('release', claimRow());
    const error = await claimError(authority.release({ identity, leaseToken: LEASE }));
    expect(error).toBe(original);
    expect(fake.ops()).toEqual(['release']);
  });

  it('turns a non-ClaimAuthorityError into query_failed without its message', async () => {
    const { fake, authority } = setup();
    const secret = 'hunter2-S3cr3t';
    fake.fail('claim', new Error(`password authentication failed: postgres://app:${secret}@db.internal:5432/claims (password=${secret})`)).rows('claim', claimRow());
    const error = await claimError(authority.claim(claimRequest()));
    expect(error.code).toBe('query_failed');
    expect(error.ambiguous).toBe(false);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('postgres://');
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
    expect(fake.ops()).toEqual(['claim']);
  });

  it.each([
    ['a string', 'postgres://app:hunter2pw@db/x'],
    ['undefined', undefined],
    ['an object', { message: 'password=hunter2pw' }],
  ])('turns a thrown %s into query_failed', async (_what, thrown) => {
    const { fake, authority } = setup();
    fake.fail('read_claim', thrown);
    const error = await claimError(authority.verify({ identity, leaseToken: LEASE }));
    expect(error.code).toBe('query_failed');
    expect(error.message).not.toContain('hunter2pw');
  });

  it('maps an unsafe-integer fencing token to query_failed', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow({ fencing_token: '9007199254740993' }));
    const error = await claimError(authority.claim(claimRequest()));
    expect(error.code).toBe('query_failed');
  });

  it.each([
    ['fencing_token', 'not-a-number'],
    ['fencing_token', '1.5'],
    ['heartbeat_count', '9007199254740993'],
    ['reclaimed_from_fencing_token', '1e400'],
  ])('maps a non-integer %s (%s) to query_failed', (column, value) => {
    let error: unknown;
    try {
      toRecord(claimRow({ [column]: value }));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    expect((error as ClaimAuthorityError).code).toBe('query_failed');
  });

  it('accepts the largest safe integer as a fencing token', () => {
    expect(toRecord(claimRow({ fencing_token: '9007199254740991' })).fencingToken).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('invalid input is refused before any SQL call', () => {
  const BAD_TOKENS = [
    'not-a-uuid-secret-value',
    '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6',
    '3f2a9c1e5b7d4e8f9a0b1c2d3e4f5a6b',
    `${LEASE}\n`,
    `{${LEASE}}`,
    ' 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b',
    'zzzzzzzz-5b7d-4e8f-9a0b-1c2d3e4f5a6b',
    '',
  ];

  type Call = (authority: PostgresClaimAuthority) => Promise<unknown>;
  const proofCalls = (proof: LeaseProof): [string, Call][] => [
    ['claim', (a) => a.claim({ identity: proof.identity, owner, leaseToken: proof.leaseToken, leaseDurationMs: 60_000 })],
    ['heartbeat', (a) => a.heartbeat({ ...proof, leaseDurationMs: 60_000 })],
    ['release', (a) => a.release(proof)],
    ['verify', (a) => a.verify(proof)],
  ];

  async function expectInvalid(call: Call, ...leaks: string[]): Promise<void> {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow()).rows('heartbeat', claimRow()).rows('release', claimRow()).rows('read_claim', readRow('verified', true));
    const error = await claimError(call(authority));
    expect(error.code).toBe('invalid_input');
    expect(error.ambiguous).toBe(false);
    expect(fake.calls).toEqual([]);
    for (const leak of leaks.filter((text) => text.length > 0)) {
      expect(error.message).not.toContain(leak);
      expect(JSON.stringify(error)).not.toContain(leak);
    }
  }

  it.each(BAD_TOKENS.flatMap((token) => proofCalls({ identity, leaseToken: token }).map(([op, call]) => [op, JSON.stringify(token), token, call] as const)))(
    '%s with lease token %s, without repeating it',
    async (_op, _shown, token, call) => {
      await expectInvalid(call, token.trim(), LEASE);
    },
  );

  it.each([undefined, null, 42, {}] as unknown[])('refuses a non-string lease token %j', async (token) => {
    for (const [, call] of proofCalls({ identity, leaseToken: token as string })) await expectInvalid(call);
  });

  const badIdentities: [string, ClaimIdentity][] = [
    ['empty projectId', { ...identity, projectId: '' }],
    ['empty trackerId', { ...identity, trackerId: '' }],
    ['empty workItemId', { ...identity, workItemId: '' }],
    ['NUL in projectId', { ...identity, projectId: 'pro\u0000j' }],
    ['NUL in workItemId', { ...identity, workItemId: 'item\u0000' }],
    ['workItemId of 257 characters', { ...identity, workItemId: 'x'.repeat(257) }],
    ['missing trackerId', { projectId: 'proj', workItemId: 'item-1' } as ClaimIdentity],
  ];
  it.each(badIdentities.flatMap(([what, bad]) => proofCalls({ identity: bad, leaseToken: LEASE }).map(([op, call]) => [op, what, call] as const)))(
    '%s with %s',
    async (_op, _what, call) => {
      await expectInvalid(call, LEASE);
    },
  );

  it('accepts a 256-character workItemId (the boundary)', async () => {
    const { fake, authority } = setup();
    fake.rows('read_claim', readRow('verified', true));
    await expect(authority.verify({ identity: { ...identity, workItemId: 'x'.repeat(256) }, leaseToken: LEASE })).resolves.toMatchObject({ status: 'verified' });
  });

  const badOwners: [string, ClaimOwner][] = [
    ['empty hostId', { ...owner, hostId: '' }],
    ['empty ownerId', { ...owner, ownerId: '' }],
    ['empty agentId', { ...owner, agentId: '' }],
    ['NUL in hostId', { ...owner, hostId: 'h\u0000' }],
    ['NUL in agentId', { ...owner, agentId: 'a\u0000' }],
  ];
  it.each(badOwners)('claim with %s', async (_what, bad) => {
    await expectInvalid((a) => a.claim(claimRequest({ owner: bad })), LEASE);
  });

  it.each([0, 1.5, -1, MAX_LEASE_DURATION_MS + 1, Number.NaN, Number.POSITIVE_INFINITY, '60000' as unknown as number])(
    'refuses lease duration %s for claim and heartbeat',
    async (ms) => {
      await expectInvalid((a) => a.claim(claimRequest({ leaseDurationMs: ms })), LEASE);
      await expectInvalid((a) => a.heartbeat({ identity, leaseToken: LEASE, leaseDurationMs: ms }), LEASE);
    },
  );

  it('accepts lease durations 1 and 30 days exactly', async () => {
    const { fake, authority } = setup();
    fake.rows('claim', claimRow()).rows('heartbeat', claimRow());
    await authority.claim(claimRequest({ leaseDurationMs: 1 }));
    await authority.heartbeat({ identity, leaseToken: LEASE, leaseDurationMs: MAX_LEASE_DURATION_MS });
    expect(fake.calls.map((call) => call.values.at(call.op === 'claim' ? 7 : 5))).toEqual([1, 30 * 24 * 3600 * 1000]);
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53, '1' as unknown as number])('refuses fencing token %s for heartbeat, release and verify', async (fencingToken) => {
    for (const [op, call] of proofCalls({ identity, leaseToken: LEASE, fencingToken })) {
      if (op !== 'claim') await expectInvalid(call, LEASE);
    }
  });
});
