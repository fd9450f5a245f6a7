// 7. Security: a reader of the database cannot release or heartbeat a claim (lease tokens are
// stored hashed); the runtime role cannot run DDL; the password and other owners' lease tokens
// never appear in output (the other scenarios check their runners' output too).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { renderClaimAuthorityGrantSql } from '../../src/claims/postgres/schema.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { recordScenario } from './support/summary.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestSchema('security');
});
afterAll(async () => {
  await db?.close();
});

function roleUrl(role: string, password: string): string {
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  return url.toString();
}

describe('7. security', () => {
  it('a reader who sees every stored column cannot heartbeat or release the claim', async () => {
    const authority = await db.authority();
    const identity = { projectId: 'sec', trackerId: 'local', workItemId: 'secret-item' };
    const leaseToken = randomUUID();
    await authority.claim({ identity, owner: { hostId: 'h', agentId: null, ownerId: 'h' }, leaseToken, leaseDurationMs: 600_000 });
    const reader = `reader_${randomUUID().slice(0, 6)}`;
    await db.admin.query(`CREATE ROLE ${reader} LOGIN PASSWORD 'pw-${reader}'; GRANT USAGE ON SCHEMA "${db.schema}" TO ${reader}; GRANT SELECT ON ALL TABLES IN SCHEMA "${db.schema}" TO ${reader}`);
    const client = new pg.Client({ connectionString: roleUrl(reader, `pw-${reader}`) });
    await client.connect();
    const { rows } = await client.query(`SELECT row_to_json(c)::text AS everything, encode(lease_token_sha256, 'hex') AS hash FROM "${db.schema}".work_item_claims c WHERE work_item_id = 'secret-item'`);
    const events = await client.query(`SELECT string_agg(row_to_json(e)::text, ' ') AS everything FROM "${db.schema}".work_item_claim_events e`);
    await client.end();
    const problems: string[] = [];
    if (rows[0].everything.includes(leaseToken) || String(events.rows[0].everything).includes(leaseToken)) problems.push('the lease token is readable');
    // What a reader can try: the stored hash as a token, or the hash shaped like a UUID.
    const hash: string = rows[0].hash;
    const asUuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
    for (const guess of [hash, asUuid]) {
      const beat = await authority.heartbeat({ identity, leaseToken: guess, leaseDurationMs: 1000 }).catch((e: { code: string }) => ({ status: e.code }));
      const release = await authority.release({ identity, leaseToken: guess }).catch((e: { code: string }) => ({ status: e.code }));
      if (beat.status === 'heartbeat' || release.status === 'released') problems.push('a reader released or renewed the claim');
    }
    expect((await authority.verify({ identity, leaseToken })).status).toBe('verified');
    recordScenario({ scenario: 'database reader vs lease tokens', faults: 4, violations: problems.length, detail: problems.join('; ') || 'stored hash is useless as a token' });
    expect(problems).toEqual([]);
  });

  it('the runtime role runs every claim operation but no DDL', async () => {
    const role = `rt_${randomUUID().slice(0, 6)}`;
    await db.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
    await db.admin.query(renderClaimAuthorityGrantSql(role, db.schema));
    const url = roleUrl(role, `pw-${role}`);
    const authority = new PostgresClaimAuthority({ client: await db.client({ connectionString: url }), schema: db.schema });
    const identity = { projectId: 'sec', trackerId: 'local', workItemId: 'rt' };
    const leaseToken = randomUUID();
    expect((await authority.claim({ identity, owner: { hostId: 'h', agentId: null, ownerId: 'h' }, leaseToken, leaseDurationMs: 60_000 })).status).toBe('claimed');
    expect((await authority.release({ identity, leaseToken })).status).toBe('released');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const attempts = [
      `CREATE TABLE "${db.schema}".x (a int)`,
      `DROP TABLE "${db.schema}".work_item_claims`,
      `ALTER TABLE "${db.schema}".work_item_claims DISABLE TRIGGER ALL`,
      `DROP TRIGGER work_item_claim_events_append_only ON "${db.schema}".work_item_claim_events`,
      `DELETE FROM "${db.schema}".work_item_claim_events`,
      `UPDATE "${db.schema}".work_item_claim_events SET fencing_token = 0`,
      `TRUNCATE "${db.schema}".work_item_claims`,
      `CREATE SCHEMA evil_${role}`,
    ];
    const allowed: string[] = [];
    for (const sql of attempts) {
      const ok = await client.query(sql).then(() => true, () => false);
      if (ok) allowed.push(sql);
    }
    await client.end();
    recordScenario({ scenario: 'runtime role runs no DDL', faults: attempts.length, violations: allowed.length, detail: allowed.join('; ') || `${attempts.length} DDL/DELETE/TRUNCATE attempts refused` });
    expect(allowed).toEqual([]);
  });
});
