// The DDL, the runtime role's grants, round trips, and redaction, against a real PostgreSQL.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createNodePostgresClient, detectNodePostgres } from '../../src/claims/postgres/node-postgres.js';
import { CLAIM_SCHEMA_VERSION, renderClaimAuthorityGrantSql, renderClaimAuthoritySchemaSql } from '../../src/claims/postgres/schema.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import type { ClaimIdentity } from '../../src/claims/types.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestSchema('schema');
});
afterAll(async () => {
  await db?.close();
});

const owner = { hostId: 'h', agentId: null, ownerId: 'o' };
const newItem = (): ClaimIdentity => ({ projectId: 'p', trackerId: 'local', workItemId: randomUUID() });

describe('schema DDL', () => {
  it('records a schema version that the authority reads back', async () => {
    const authority = await db.authority();
    expect(await authority.checkSchema()).toEqual({ version: CLAIM_SCHEMA_VERSION });
  });

  it('applies twice without error and creates nothing outside its schema, whatever search_path says', async () => {
    const schema = `ddl_${randomUUID().slice(0, 8)}`;
    const client = await db.admin.connect();
    try {
      const before = await client.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`);
      await client.query(`SET search_path TO nonexistent_schema, public`);
      await client.query(renderClaimAuthoritySchemaSql(schema));
      await client.query(renderClaimAuthoritySchemaSql(schema));
      const after = await client.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`);
      expect(after.rows[0].n).toBe(before.rows[0].n);
      const tables = await client.query(`SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r' ORDER BY 1`, [schema]);
      expect(tables.rows.map((r) => r.relname)).toEqual(['schema_version', 'work_item_claim_events', 'work_item_claims']);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      client.release();
    }
  });

  it('an authority pointed at a schema that does not exist fails with schema_missing, never falls back to public', async () => {
    const authority = new PostgresClaimAuthority({ client: await db.client(), schema: 'no_such_schema' });
    const error = await authority.claim({ identity: newItem(), owner, leaseToken: randomUUID(), leaseDurationMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    expect((error as ClaimAuthorityError).code).toBe('schema_missing');
    await expect(authority.checkSchema()).rejects.toMatchObject({ code: 'schema_missing' });
  });

  it('the events table is append-only', async () => {
    const authority = await db.authority();
    await authority.claim({ identity: newItem(), owner, leaseToken: randomUUID(), leaseDurationMs: 1000 });
    await expect(db.admin.query(`UPDATE "${db.schema}".work_item_claim_events SET kind = 'granted'`)).rejects.toThrow(/append-only/);
    await expect(db.admin.query(`DELETE FROM "${db.schema}".work_item_claim_events`)).rejects.toThrow(/append-only/);
  });
});

describe('least-privilege runtime role', () => {
  const role = `runtime_${randomUUID().slice(0, 8)}`;
  const password = `pw-${randomUUID()}`;
  let roleUrl: string;

  beforeAll(async () => {
    await db.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.admin.query(renderClaimAuthorityGrantSql(role, db.schema));
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    roleUrl = url.toString();
  });

  it('runs every operation of the authority', async () => {
    const authority = new PostgresClaimAuthority({ client: await db.client({ connectionString: roleUrl }), schema: db.schema });
    const identity = newItem();
    const leaseToken = randomUUID();
    expect(await authority.checkSchema()).toEqual({ version: CLAIM_SCHEMA_VERSION });
    expect((await authority.claim({ identity, owner, leaseToken, leaseDurationMs: 60_000 })).status).toBe('claimed');
    expect((await authority.claim({ identity, owner, leaseToken: randomUUID(), leaseDurationMs: 60_000 })).status).toBe('lost_race');
    expect((await authority.heartbeat({ identity, leaseToken, leaseDurationMs: 60_000 })).status).toBe('heartbeat');
    expect((await authority.verify({ identity, leaseToken })).status).toBe('verified');
    expect((await authority.release({ identity, leaseToken })).status).toBe('released');
    expect((await authority.inspect({ projectId: 'p' })).released.length).toBeGreaterThan(0);
    expect((await authority.events('p')).length).toBeGreaterThan(0);
  });

  it.each([
    ['create a table', (s: string) => `CREATE TABLE "${s}".intruder (x int)`],
    ['create a schema', () => `CREATE SCHEMA intruder_${randomUUID().slice(0, 6)}`],
    ['drop the claims table', (s: string) => `DROP TABLE "${s}".work_item_claims`],
    ['delete claims', (s: string) => `DELETE FROM "${s}".work_item_claims`],
    ['truncate events', (s: string) => `TRUNCATE "${s}".work_item_claim_events`],
    ['update events', (s: string) => `UPDATE "${s}".work_item_claim_events SET kind = kind`],
    ['alter a table', (s: string) => `ALTER TABLE "${s}".work_item_claims ADD COLUMN x int`],
  ])('cannot %s', async (_what, sql) => {
    const client = new pg.Client({ connectionString: roleUrl });
    await client.connect();
    try {
      await expect(client.query(sql(db.schema))).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
  });
});

describe('round trips', () => {
  function counting(inner: SqlClient): SqlClient & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      query: (statement, values) => {
        calls.push(statement.name);
        return inner.query(statement, values);
      },
      close: () => inner.close(),
    };
  }

  it('exactly one statement on the success path of claim, heartbeat and release (1/1/1)', async () => {
    const client = counting(await db.client());
    const authority = new PostgresClaimAuthority({ client, schema: db.schema });
    const identity = newItem();
    const leaseToken = randomUUID();
    const counts: number[] = [];
    for (const op of [
      () => authority.claim({ identity, owner, leaseToken, leaseDurationMs: 60_000 }),
      () => authority.heartbeat({ identity, leaseToken, fencingToken: 1, leaseDurationMs: 60_000 }),
      () => authority.release({ identity, leaseToken, fencingToken: 1 }),
    ]) {
      const before = client.calls.length;
      const result = await op();
      expect(['claimed', 'heartbeat', 'released']).toContain(result.status);
      counts.push(client.calls.length - before);
    }
    expect(counts).toEqual([1, 1, 1]);
    // The audit events were written by those same statements.
    const events = await authority.events('p');
    expect(events.filter((e) => e.identity.workItemId === identity.workItemId).map((e) => e.kind)).toEqual(['granted', 'heartbeat', 'released']);
  });

  it('a lost race takes one more read (2), to name the holder', async () => {
    const client = counting(await db.client());
    const authority = new PostgresClaimAuthority({ client, schema: db.schema });
    const identity = newItem();
    await authority.claim({ identity, owner, leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    const before = client.calls.length;
    expect((await authority.claim({ identity, owner, leaseToken: randomUUID(), leaseDurationMs: 60_000 })).status).toBe('lost_race');
    expect(client.calls.length - before).toBe(2);
  });
});

describe('node-postgres adapter errors', () => {
  it('reports that pg is available', async () => {
    expect(await detectNodePostgres()).toMatchObject({ available: true, reason: null });
  });

  const secret = `Sup3r-${randomUUID()}`;
  it.each([
    ['a wrong password', (u: URL) => { u.password = secret; }, 'connection_failed'],
    ['a closed port', (u: URL) => { u.password = secret; u.port = '1'; }, 'connection_failed'],
    ['a missing database', (u: URL) => { u.password = secret; u.pathname = '/no_such_db'; }, 'connection_failed'],
  ])('%s gives a stable code and an error that holds neither the connection string nor the password', async (_what, mutate, code) => {
    const url = new URL(db.url);
    mutate(url);
    const connectionString = url.toString();
    const client = await createNodePostgresClient({ connectionString, connectTimeoutMs: 2000 });
    const authority = new PostgresClaimAuthority({ client, schema: db.schema });
    const error = await authority.claim({ identity: newItem(), owner, leaseToken: randomUUID(), leaseDurationMs: 1000 }).catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    const e = error as ClaimAuthorityError;
    expect(e.code).toBe(code);
    const everything = `${e.message}\n${e.stack}\n${JSON.stringify(e)}\n${String(e)}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(connectionString);
    expect(everything).not.toContain(encodeURIComponent(secret));
  });

  it('a statement past statement_timeout fails with statement_timeout, within a bounded time', async () => {
    const client = await createNodePostgresClient({ connectionString: db.url, statementTimeoutMs: 200 });
    const started = Date.now();
    const error = await client.query({ name: 'sleep', text: 'SELECT pg_sleep(5)' }, []).catch((e: unknown) => e);
    await client.close();
    expect((error as ClaimAuthorityError).code).toBe('statement_timeout');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('an exhausted pool gives connection_timeout after the connect timeout instead of waiting forever', async () => {
    const client = await createNodePostgresClient({ connectionString: db.url, maxConnections: 1, connectTimeoutMs: 300, statementTimeoutMs: 3000 });
    const hog = client.query({ name: 'hog', text: 'SELECT pg_sleep(1)' }, []);
    const error = await client.query({ name: 'one', text: 'SELECT 1' }, []).catch((e: unknown) => e);
    await hog;
    await client.close();
    expect((error as ClaimAuthorityError).code).toBe('connection_timeout');
  });

  it('a terminated backend mid-statement is connection_lost and ambiguous; a retry with the same lease token returns its own claim', async () => {
    const client = await createNodePostgresClient({ connectionString: db.url, applicationName: 'victim' });
    const identity = newItem();
    const leaseToken = randomUUID();
    const authority = new PostgresClaimAuthority({ client, schema: db.schema });
    const slow = client.query({ name: 'victim_sleep', text: 'SELECT pg_sleep(5)' }, []).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    await db.admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim' AND query LIKE '%pg_sleep(5)%'`);
    const error = (await slow) as ClaimAuthorityError;
    expect(error.code).toBe('connection_lost');
    expect(error.ambiguous).toBe(true);
    // The pool replaced the dead connection: the same client keeps working.
    const first = await authority.claim({ identity, owner, leaseToken, leaseDurationMs: 60_000 });
    const retry = await authority.claim({ identity, owner, leaseToken, leaseDurationMs: 60_000 });
    expect(first.status).toBe('claimed');
    expect(retry).toMatchObject({ status: 'claimed', alreadyHeld: true });
    await client.close();
  });

  it('an idle pooled connection killed by the server is reported to onIdleError (redacted) and does not crash the process', async () => {
    const idleErrors: ClaimAuthorityError[] = [];
    const client = await createNodePostgresClient({ connectionString: db.url, applicationName: 'idle-victim', onIdleError: (e) => idleErrors.push(e) });
    await client.query({ name: 'warm', text: 'SELECT 1' }, []);
    await db.admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'idle-victim'`);
    for (let i = 0; i < 50 && idleErrors.length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(idleErrors.length).toBeGreaterThan(0);
    expect(idleErrors[0]?.code).toMatch(/^connection_/);
    expect(idleErrors[0]?.message).not.toContain(new URL(db.url).password);
    // The next statement gets a fresh connection.
    expect(await client.query({ name: 'after', text: 'SELECT 1 AS one' }, [])).toEqual([{ one: 1 }]);
    await client.close();
  });
});
