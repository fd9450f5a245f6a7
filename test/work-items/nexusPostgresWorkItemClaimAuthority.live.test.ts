// Live PostgreSQL smoke test, gated: it creates schema in a real database.
//
//   DEV_NEXUS_POSTGRES_CLAIM_AUTHORITY_SMOKE=1 \
//   DEV_NEXUS_CLAIMS_DATABASE_URL='postgres://user:password@host:5432/dev_nexus' \
//   npm test -- test/work-items/nexusPostgresWorkItemClaimAuthority.live.test.ts
//
// DEV_NEXUS_CLAIMS_SCHEMA picks the schema (default dev_nexus_smoke). With the gate open and
// no DEV_NEXUS_CLAIMS_DATABASE_URL, it runs against the test run's own PostgreSQL (as CI does).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createNodePostgresClient } from '../../src/claims/postgres/node-postgres.js';
import { nexusPostgresClaimAuthoritySchemaSql, quoteIdentifier, renderClaimAuthoritySchemaSql } from '../../src/claims/postgres/schema.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';

const gateOpen = process.env.DEV_NEXUS_POSTGRES_CLAIM_AUTHORITY_SMOKE === '1';
const schema = process.env.DEV_NEXUS_CLAIMS_SCHEMA || 'dev_nexus_smoke';
const title = gateOpen
  ? `live PostgreSQL smoke (schema ${schema})`
  : 'live PostgreSQL smoke (skipped: set DEV_NEXUS_POSTGRES_CLAIM_AUTHORITY_SMOKE=1 and DEV_NEXUS_CLAIMS_DATABASE_URL to run it)';

describe.runIf(gateOpen)(title, () => {
  let url: string;
  let client: SqlClient;
  let authority: PostgresClaimAuthority;

  beforeAll(async () => {
    const fromEnv = process.env.DEV_NEXUS_CLAIMS_DATABASE_URL;
    url = fromEnv || inject('testDatabaseUrl');
    console.log(`[live smoke] database: ${fromEnv ? 'DEV_NEXUS_CLAIMS_DATABASE_URL' : `the test run's PostgreSQL (${inject('testDatabaseSource')})`}; schema: ${schema}`);
    quoteIdentifier(schema);
    // Operator-approved schema creation: the smoke is the one place that applies the DDL.
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    await admin.connect();
    try {
      await admin.query(schema === 'dev_nexus' ? nexusPostgresClaimAuthoritySchemaSql : renderClaimAuthoritySchemaSql(schema));
    } finally {
      await admin.end();
    }
    client = await createNodePostgresClient({ connectionString: url });
    authority = new PostgresClaimAuthority({ client, schema });
  });

  afterAll(async () => {
    await client?.close();
  });

  it('writes one synthetic claim, a second owner loses the race, then the owner releases it', async () => {
    await authority.checkSchema();
    const identity = { projectId: 'dev-nexus-smoke', trackerId: 'smoke', workItemId: `smoke-${randomUUID()}` };
    const leaseToken = randomUUID();
    const claimed = await authority.claim({ identity, owner: { hostId: 'smoke-host-a', agentId: 'smoke', ownerId: 'smoke-a' }, leaseToken, leaseDurationMs: 60_000 });
    expect(claimed.status).toBe('claimed');
    if (claimed.status !== 'claimed') return;

    const second = await authority.claim({ identity, owner: { hostId: 'smoke-host-b', agentId: 'smoke', ownerId: 'smoke-b' }, leaseToken: randomUUID(), leaseDurationMs: 60_000 });
    expect(second.status).toBe('lost_race');
    if (second.status === 'lost_race') expect(second.holder.fencingToken).toBe(claimed.claim.fencingToken);

    const released = await authority.release({ identity, leaseToken, fencingToken: claimed.claim.fencingToken, releasedBy: 'smoke-a' });
    expect(released).toMatchObject({ status: 'released', claim: { state: 'released' } });

    const events = (await authority.events(identity.projectId, identity.trackerId)).filter((e) => e.identity.workItemId === identity.workItemId);
    expect(events.map((e) => e.kind)).toEqual(['granted', 'released']);
    expect(checkClaimEvents(events).ok).toBe(true);
    console.log(`[live smoke] claimed fencing ${claimed.claim.fencingToken}, second owner lost_race, released at ${released.status === 'released' ? released.claim.releasedAt : '-'}`);
  });
});
