// 3. PostgreSQL restart mid-race, and pg_terminate_backend of claimers' connections: clean
// errors with a stable code within a bounded time; a retry with the same lease token
// recognises its own claim; no double grant.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createNodePostgresClient } from '../../src/claims/postgres/node-postgres.js';
import { renderClaimAuthoritySchemaSql } from '../../src/claims/postgres/schema.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import { importEmbeddedPostgres } from '../support/postgres-server.js';
import { recordScenario } from './support/summary.js';

const STABLE = new Set(['connection_failed', 'connection_lost', 'connection_timeout', 'statement_timeout', 'lock_timeout', 'serialization_failure']);
const CONNECT_MS = 1000;
const QUERY_MS = 1500;
const BOUND_MS = CONNECT_MS + QUERY_MS + 1500;
const ITEMS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let server: InstanceType<Awaited<ReturnType<typeof importEmbeddedPostgres>>>;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-nexus-restart-'));
  await chmod(dir, 0o777);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const password = process.env.DEV_NEXUS_TEST_PG_PASSWORD ?? `pw-${randomUUID()}`;
  const EmbeddedPostgres = await importEmbeddedPostgres();
  server = new EmbeddedPostgres({ databaseDir: join(dir, 'data'), port, user: 'postgres', password, persistent: true, createPostgresUser: true, postgresFlags: ['-c', 'fsync=off'], onLog: () => {}, onError: () => {} });
  await server.initialise();
  await server.start();
  await server.createDatabase('restart');
  url = `postgres://postgres:${password}@127.0.0.1:${port}/restart`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(renderClaimAuthoritySchemaSql('dev_nexus'));
  await admin.end();
});
afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

interface Stats {
  claimed: number;
  lost: number;
  retriedOwn: number;
  errors: { code: string; ms: number; ambiguous: boolean }[];
}

/**
 * A claimer that races for the items, retrying a failure with the same lease token. Leases
 * outlive the retries, so a claim that committed before its answer was lost is recognised
 * (alreadyHeld), never granted twice.
 */
async function claimer(host: string, client: SqlClient, until: number, stats: Stats, projectId: string): Promise<void> {
  const authority = new PostgresClaimAuthority({ client });
  let i = 0;
  while (performance.now() < until) {
    const identity = { projectId, trackerId: 'local', workItemId: `item-${i++ % ITEMS}` };
    const request = { identity, owner: { hostId: host, agentId: null, ownerId: host }, leaseToken: randomUUID(), leaseDurationMs: 2000 };
    for (let attempt = 0; attempt < 20 && performance.now() < until + 5000; attempt += 1) {
      const started = performance.now();
      try {
        const result = await authority.claim(request);
        if (result.status === 'claimed') {
          stats.claimed += 1;
          if (result.alreadyHeld) stats.retriedOwn += 1;
        } else stats.lost += 1;
        break;
      } catch (error) {
        const e = error as ClaimAuthorityError;
        stats.errors.push({ code: e.code, ms: performance.now() - started, ambiguous: e.ambiguous });
        await sleep(100); // then retry with the same lease token
      }
    }
    await sleep(10);
  }
}

async function runScenario(name: string, disrupt: (admin: () => Promise<pg.Client>) => Promise<number>): Promise<void> {
  const projectId = `${name}-${randomUUID().slice(0, 6)}`;
  const clients = await Promise.all([1, 2, 3, 4].map(() => createNodePostgresClient({ connectionString: url, maxConnections: 2, connectTimeoutMs: CONNECT_MS, queryTimeoutMs: QUERY_MS, statementTimeoutMs: 1000, applicationName: 'claimer', onIdleError: () => {} })));
  const stats: Stats = { claimed: 0, lost: 0, retriedOwn: 0, errors: [] };
  const until = performance.now() + 4000;
  const admin = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const running = clients.map((client, n) => claimer(`host-${n}`, client, until, stats, projectId));
  const faults = await disrupt(admin);
  await Promise.all(running);
  await Promise.all(clients.map((c) => c.close()));

  const auditClient = await createNodePostgresClient({ connectionString: url });
  const events = await new PostgresClaimAuthority({ client: auditClient }).events(projectId);
  await auditClient.close();
  const report = checkClaimEvents(events);
  const problems = report.violations.map((v) => `audit ${v.kind}: ${v.detail}`);
  for (const e of stats.errors) {
    if (!STABLE.has(e.code)) problems.push(`unstable error code ${e.code}`);
    if (e.ms > BOUND_MS) problems.push(`a failed claim took ${Math.round(e.ms)} ms (bound ${BOUND_MS} ms)`);
  }
  // Every claimed result the claimers were told of is a grant in the events (no double grant, none lost).
  const grants = events.filter((e) => e.kind === 'granted' || e.kind === 'reclaimed').length;
  if (grants !== stats.claimed - stats.retriedOwn) problems.push(`${grants} grants in the events, claimers were told of ${stats.claimed - stats.retriedOwn}`);
  recordScenario({ scenario: name, faults, violations: problems.length, detail: `${stats.claimed} claims (${stats.retriedOwn} recognised own after ambiguous failure), ${stats.errors.length} clean errors [${[...new Set(stats.errors.map((e) => e.code))].join(', ')}]; ${problems.join('; ')}` });
  console.log(`[${name}] claims ${stats.claimed}, lost ${stats.lost}, own retries ${stats.retriedOwn}, errors ${stats.errors.length}: ${[...new Set(stats.errors.map((e) => e.code))].join(', ')}`);
  expect(problems).toEqual([]);
  expect(stats.claimed).toBeGreaterThan(0);
  expect(stats.errors.length).toBeGreaterThan(0);
}

describe('3. restart and terminated connections', () => {
  it('PostgreSQL restarts mid-race', async () => {
    await runScenario('PostgreSQL restart mid-race', async () => {
      await sleep(800);
      await server.stop();
      await sleep(1000);
      await server.start();
      return 1;
    });
  }, 60_000);

  it('pg_terminate_backend of the claimers, again and again', async () => {
    await runScenario('pg_terminate_backend of claimers', async (admin) => {
      const c = await admin();
      let faults = 0;
      for (let round = 0; round < 10; round += 1) {
        await sleep(250);
        const { rowCount } = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'claimer' AND pid <> pg_backend_pid()`);
        faults += rowCount ?? 0;
      }
      await c.end();
      return faults;
    });
  }, 60_000);
});
