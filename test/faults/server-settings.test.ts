// 5. Server settings: a default isolation of SERIALIZABLE, an exhausted pool, a statement
// timeout reached. Clean codes within bounded time; the audit stays clean.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import type { ClaimAuthorityError } from '../../src/claims/errors.js';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { toClaimError } from '../../src/claims/postgres/node-postgres.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { recordScenario } from './support/summary.js';

let db: TestDatabase;
let auditor: PostgresClaimAuthority;
beforeAll(async () => {
  db = await createTestSchema('settings');
  auditor = await db.authority();
});
afterAll(async () => {
  await db?.close();
});

const owner = (host: string) => ({ hostId: host, agentId: null, ownerId: host });
const identity = (projectId: string, workItemId: string) => ({ projectId, trackerId: 'local', workItemId });

async function auditProblems(projectId: string): Promise<string[]> {
  return checkClaimEvents(await auditor.events(projectId)).violations.map((v) => `${v.kind}: ${v.detail}`);
}

async function failure(run: () => Promise<unknown>): Promise<{ error: ClaimAuthorityError; ms: number }> {
  const started = performance.now();
  const error = (await run().then(() => null, (e: unknown) => e)) as ClaimAuthorityError;
  return { error, ms: performance.now() - started };
}

describe('5. server settings', () => {
  it('default_transaction_isolation = serializable: races still give one winner each', async () => {
    const projectId = `serializable-${randomUUID().slice(0, 6)}`;
    const role = `ser_${randomUUID().slice(0, 6)}`;
    await db.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
    await db.admin.query(`ALTER ROLE ${role} SET default_transaction_isolation = 'serializable'`);
    await db.admin.query(`GRANT USAGE ON SCHEMA "${db.schema}" TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA "${db.schema}" TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA "${db.schema}" TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = `pw-${role}`;
    // Clients that keep the server's default: serialization failures are retried by the authority.
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: url.toString(), max: 1 }));
    const authorities = pools.map((pool) => {
      const client: SqlClient = {
        query: async (statement, values) => {
          try {
            return (await pool.query({ name: statement.name, text: statement.text, values: values as unknown[] })).rows;
          } catch (error) {
            throw toClaimError(error, [url.toString()], true);
          }
        },
        close: () => pool.end(),
      };
      return new PostgresClaimAuthority({ client, schema: db.schema, maxAttempts: 20 });
    });
    const problems: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      const results = await Promise.all(authorities.map((a, i) => a.claim({ identity: identity(projectId, `item-${round}`), owner: owner(`h${i}`), leaseToken: randomUUID(), leaseDurationMs: 60_000 })));
      const winners = results.filter((r) => r.status === 'claimed').length;
      if (winners !== 1) problems.push(`round ${round}: ${winners} winners`);
    }
    await Promise.all(pools.map((p) => p.end()));
    problems.push(...(await auditProblems(projectId)));
    recordScenario({ scenario: 'server default isolation SERIALIZABLE', faults: 20, violations: problems.length, detail: problems.join('; ') || '20 races, one winner each' });
    expect(problems).toEqual([]);
  });

  it('an exhausted pool gives connection_timeout within the connect timeout, then recovers', async () => {
    const projectId = `pool-${randomUUID().slice(0, 6)}`;
    const client = await db.client({ maxConnections: 1, connectTimeoutMs: 300, statementTimeoutMs: 5000 });
    const authority = new PostgresClaimAuthority({ client, schema: db.schema });
    const hog = client.query({ name: 'hog', text: 'SELECT pg_sleep(1.5)' }, []);
    const { error, ms } = await failure(() => authority.claim({ identity: identity(projectId, 'a'), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 60_000 }));
    await hog;
    const after = await authority.claim({ identity: identity(projectId, 'a'), owner: owner('h'), leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    const problems = [
      ...(error?.code === 'connection_timeout' ? [] : [`code ${error?.code}`]),
      ...(ms < 1200 ? [] : [`waited ${Math.round(ms)} ms`]),
      ...(after.status === 'claimed' ? [] : ['no recovery']),
      ...(await auditProblems(projectId)),
    ];
    recordScenario({ scenario: 'pool exhausted', faults: 1, violations: problems.length, detail: problems.join('; ') || `connection_timeout after ${Math.round(ms)} ms` });
    expect(problems).toEqual([]);
  });

  it('a claim that reaches statement_timeout (stuck behind a row lock) fails cleanly; a retry with the same lease token wins once', async () => {
    const projectId = `timeout-${randomUUID().slice(0, 6)}`;
    const authority = await db.authority({ statementTimeoutMs: 200, lockTimeoutMs: 5000 });
    const first = await authority.claim({ identity: identity(projectId, 'held'), owner: owner('h1'), leaseToken: randomUUID(), leaseDurationMs: 50 });
    expect(first.status).toBe('claimed');
    await new Promise((r) => setTimeout(r, 80));
    const holder = await db.admin.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "${db.schema}".work_item_claims WHERE project_id = $1 FOR UPDATE`, [projectId]);
    const request = { identity: identity(projectId, 'held'), owner: owner('h2'), leaseToken: randomUUID(), leaseDurationMs: 60_000 };
    const { error, ms } = await failure(() => authority.claim(request));
    await holder.query('COMMIT');
    holder.release();
    const retry = await authority.claim(request);
    const again = await authority.claim(request);
    const problems = [
      ...(error?.code === 'statement_timeout' ? [] : [`code ${error?.code}`]),
      ...(ms < 1500 ? [] : [`waited ${Math.round(ms)} ms`]),
      ...(retry.status === 'claimed' && retry.claim.fencingToken === 2 ? [] : [`retry ${retry.status}`]),
      ...(again.status === 'claimed' && again.alreadyHeld ? [] : ['second retry was not recognised as its own claim']),
      ...(await auditProblems(projectId)),
    ];
    recordScenario({ scenario: 'statement timeout reached', faults: 1, violations: problems.length, detail: problems.join('; ') || `statement_timeout after ${Math.round(ms)} ms` });
    expect(problems).toEqual([]);
  });
});
