// Races, isolation levels, row-lock isolation and skewed host clocks, against a real PostgreSQL.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { toClaimError } from '../../src/claims/postgres/node-postgres.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import type { ClaimIdentity, ClaimResult } from '../../src/claims/types.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';

const K = 8;
const ROUNDS = 20;
/**
 * Long enough that all K claimers of a round arrive while the winner's lease is live, even on a
 * loaded machine (a late claimer after expiry would rightly win a second time); short enough
 * to wait out for the reclaim rounds.
 */
const SHORT_LEASE_MS = 1000;
const projectId = 'race';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestSchema('race');
});
afterAll(async () => {
  await db?.close();
});

const owner = (i: number) => ({ hostId: `host-${i}`, agentId: null, ownerId: `owner-${i}` });

/** K owners, each with its own pool (its own connections), race for one item. */
async function race(authorities: PostgresClaimAuthority[], identity: ClaimIdentity, leaseDurationMs = 60_000): Promise<ClaimResult[]> {
  return Promise.all(authorities.map((a, i) => a.claim({ identity, owner: owner(i), leaseToken: randomUUID(), leaseDurationMs })));
}

function expectOneWinner(results: ClaimResult[]): void {
  const winners = results.filter((r) => r.status === 'claimed');
  const losers = results.filter((r) => r.status === 'lost_race');
  expect(winners).toHaveLength(1);
  expect(losers).toHaveLength(results.length - 1);
  const winner = winners[0]!;
  if (winner.status !== 'claimed') throw new Error('unreachable');
  for (const loser of losers) {
    if (loser.status !== 'lost_race') throw new Error('unreachable');
    expect(loser.holder.fencingToken).toBe(winner.claim.fencingToken);
    expect(loser.holder.owner).toEqual(winner.claim.owner);
    expect(JSON.stringify(loser)).not.toContain(winner.leaseToken);
  }
}

async function expectAuditClean(): Promise<void> {
  const auditor = await db.authority();
  const report = checkClaimEvents(await auditor.events(projectId));
  expect(report.violations).toEqual([]);
}

describe(`${K} concurrent claimers on one item`, () => {
  it(`give exactly one claimed and ${K - 1} lost_race seeing the winner's fencing token, over ${ROUNDS} rounds of grant, release and reclaim`, { timeout: 120_000 }, async () => {
    const authorities = await Promise.all(Array.from({ length: K }, () => db.authority({ maxConnections: 2 })));
    const identity: ClaimIdentity = { projectId, trackerId: 'local', workItemId: `contended-${randomUUID()}` };
    let fencing = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate how the previous claim ends: released, or left to expire (reclaim).
      const results = await race(authorities, identity, round % 2 === 0 ? 60_000 : SHORT_LEASE_MS);
      expectOneWinner(results);
      const winner = results.find((r) => r.status === 'claimed');
      if (winner?.status !== 'claimed') throw new Error('unreachable');
      expect(winner.claim.fencingToken).toBe(fencing + 1);
      fencing = winner.claim.fencingToken;
      if (round % 2 === 0) {
        const index = results.indexOf(winner);
        await authorities[index]!.release({ identity, leaseToken: winner.leaseToken, fencingToken: fencing });
      } else {
        await new Promise((r) => setTimeout(r, SHORT_LEASE_MS + 50));
      }
    }
    await expectAuditClean();
  });
});

/** A SqlClient over a plain pg.Pool that leaves the server's default isolation alone. */
function plainClient(connectionString: string): SqlClient {
  const pool = new pg.Pool({ connectionString, max: 2 });
  return {
    async query(statement, values) {
      try {
        return (await pool.query({ name: statement.name, text: statement.text, values: values as unknown[] })).rows;
      } catch (error) {
        throw toClaimError(error, [connectionString], true);
      }
    },
    close: () => pool.end(),
  };
}

describe.each(['repeatable read', 'serializable'])('server default isolation %s', (isolation) => {
  let roleUrl: string;
  const role = `iso_${isolation.replace(' ', '_')}_${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    await db.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}' IN ROLE pg_read_all_data`);
    await db.admin.query(`ALTER ROLE ${role} SET default_transaction_isolation = '${isolation}'`);
    await db.admin.query(`GRANT USAGE ON SCHEMA "${db.schema}" TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA "${db.schema}" TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA "${db.schema}" TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = `pw-${role}`;
    roleUrl = url.toString();
  });

  it('the role really defaults to that isolation', async () => {
    const client = new pg.Client({ connectionString: roleUrl });
    await client.connect();
    const { rows } = await client.query('SHOW transaction_isolation');
    await client.end();
    expect(rows[0].transaction_isolation).toBe(isolation);
  });

  it('the node-postgres adapter runs its statements under READ COMMITTED regardless', async () => {
    const client = await db.client({ connectionString: roleUrl });
    const rows = await client.query({ name: 'iso_probe', text: 'SHOW transaction_isolation' }, []);
    expect(rows[0]?.transaction_isolation).toBe('read committed');
  });

  it.each([
    ['through the node-postgres adapter', (url: string) => db.client({ connectionString: url, maxConnections: 2 })],
    ['through a client that keeps the server default (serialization failures retried)', async (url: string) => plainClient(url)],
  ])(`${K} concurrent claimers still give one winner, ${K - 1} informed losers, and heartbeat and release work, %s`, async (_label, makeClient) => {
    const clients = await Promise.all(Array.from({ length: K }, () => makeClient(roleUrl)));
    const authorities = clients.map((client) => new PostgresClaimAuthority({ client, schema: db.schema, maxAttempts: 10 }));
    try {
      for (let round = 0; round < 10; round += 1) {
        const identity: ClaimIdentity = { projectId, trackerId: 'local', workItemId: `iso-${randomUUID()}` };
        const results = await race(authorities, identity);
        expectOneWinner(results);
        const index = results.findIndex((r) => r.status === 'claimed');
        const winner = results[index]!;
        if (winner.status !== 'claimed') throw new Error('unreachable');
        const beat = await authorities[index]!.heartbeat({ identity, leaseToken: winner.leaseToken, fencingToken: winner.claim.fencingToken, leaseDurationMs: 60_000 });
        expect(beat.status).toBe('heartbeat');
        const released = await authorities[index]!.release({ identity, leaseToken: winner.leaseToken });
        expect(released.status).toBe('released');
      }
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    }
    await expectAuditClean();
  });
});

describe('row-lock isolation', () => {
  it('a transaction holding item A does not delay a claim on item B; a claim on A waits at most lock_timeout', async () => {
    const authority = await db.authority({ lockTimeoutMs: 300 });
    const a: ClaimIdentity = { projectId, trackerId: 'local', workItemId: `held-${randomUUID()}` };
    const b: ClaimIdentity = { projectId, trackerId: 'local', workItemId: `free-${randomUUID()}` };
    await authority.claim({ identity: a, owner: owner(1), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    const holder = await db.admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${db.schema}".work_item_claims WHERE project_id = $1 AND tracker_id = $2 AND work_item_id = $3 FOR UPDATE`, [a.projectId, a.trackerId, a.workItemId]);
      // Item B is claimed, heartbeated and released while A's row stays locked.
      const token = randomUUID();
      expect((await authority.claim({ identity: b, owner: owner(2), leaseToken: token, leaseDurationMs: 60_000 })).status).toBe('claimed');
      expect((await authority.heartbeat({ identity: b, leaseToken: token, leaseDurationMs: 60_000 })).status).toBe('heartbeat');
      expect((await authority.release({ identity: b, leaseToken: token })).status).toBe('released');
      // A claim on A gives up with a stable code instead of waiting for the holder.
      const blocked = await authority.claim({ identity: a, owner: owner(3), leaseToken: randomUUID(), leaseDurationMs: 60_000 }).catch((e: unknown) => e);
      expect(blocked).toBeInstanceOf(ClaimAuthorityError);
      expect((blocked as ClaimAuthorityError).code).toBe('lock_timeout');
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
  });
});

describe('skewed host clocks', () => {
  it('owners whose host clocks are hours ahead or behind change no outcome: the database clock decides', async () => {
    const authority = await db.authority();
    const identity: ClaimIdentity = { projectId, trackerId: 'local', workItemId: `skew-${randomUUID()}` };
    const token = randomUUID();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() - 5 * 3600_000);
      const first = await authority.claim({ identity, owner: owner(1), leaseToken: token, leaseDurationMs: 60_000 });
      expect(first.status).toBe('claimed');
      // A host six hours ahead would see that lease as long expired; it must still lose.
      vi.setSystemTime(Date.now() + 11 * 3600_000);
      const thief = await authority.claim({ identity, owner: owner(2), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
      expect(thief.status).toBe('lost_race');
      expect((await authority.heartbeat({ identity, leaseToken: token, leaseDurationMs: 60_000 })).status).toBe('heartbeat');
      expect((await authority.verify({ identity, leaseToken: token })).status).toBe('verified');
      if (first.status === 'claimed') {
        // Expiry is database time + lease, whatever the host clock says.
        const dbNow = Date.parse(first.dbNow);
        expect(Math.abs(Date.parse(first.claim.expiresAt) - 60_000 - dbNow)).toBeLessThan(5_000);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
