// The claim authority as the benchmark drives it: a node-postgres pool sized to the number
// of coordinators, behind a wrapper that counts round trips (SqlClient.query calls).
import { randomUUID } from 'node:crypto';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createNodePostgresClient } from '../../src/claims/postgres/node-postgres.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import type { ClaimIdentity, ClaimOwner } from '../../src/claims/types.js';
import type { BenchContext } from './context.js';
import { drive } from './stats.js';

export const PROJECT = 'bench';
/** Short leases: long enough that claim, heartbeat and release of one phase all find it live. */
export const LEASE_MS = 30_000;
export const OWNER: ClaimOwner = { hostId: 'bench-host', agentId: 'bench-agent', ownerId: 'bench-host/bench-agent' };
export const METADATA = { componentId: 'bench' };

export interface CountingClient extends SqlClient {
  /** Round trips so far. */
  readonly calls: number;
  readonly byName: Map<string, number>;
}

export function counting(inner: SqlClient): CountingClient {
  let calls = 0;
  const byName = new Map<string, number>();
  return {
    get calls() {
      return calls;
    },
    byName,
    query(statement, values) {
      calls += 1;
      const op = statement.name.replace(/^dev_nexus_/, '').replace(/_[0-9a-f]{12}$/, '');
      byName.set(op, (byName.get(op) ?? 0) + 1);
      return inner.query(statement, values);
    },
    close: () => inner.close(),
  };
}

export interface BenchAuthority {
  authority: PostgresClaimAuthority;
  client: CountingClient;
  close(): Promise<void>;
}

/** An authority on a pool of `connections` (the number of coordinators sharing it). */
export async function openAuthority(ctx: BenchContext, schema: string, connections: number): Promise<BenchAuthority> {
  const inner = await createNodePostgresClient({ connectionString: ctx.url, maxConnections: connections, applicationName: 'dev-nexus-bench' });
  const client = counting(inner);
  const authority = new PostgresClaimAuthority({ client, schema });
  return { authority, client, close: () => client.close() };
}

export function identity(trackerId: string, workItemId: string): ClaimIdentity {
  return { projectId: PROJECT, trackerId, workItemId };
}

/** Open every connection of the pool and prepare the claim statement on each. */
export async function warmUp(a: BenchAuthority, connections: number, trackerId: string): Promise<void> {
  await drive(connections, connections * 4, 10_000, async (i) => {
    const r = await a.authority.claim({ identity: identity(trackerId, `warm-${i}-${randomUUID()}`), owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA });
    return r.status === 'claimed';
  });
}

/** Fresh claims (each a first insert) for up to `capMs`, on items `<prefix>-<n>`. */
export async function freshClaims(a: BenchAuthority, concurrency: number, trackerId: string, prefix: string, count: number, capMs: number) {
  return drive(concurrency, count, capMs, async (i) => {
    const r = await a.authority.claim({ identity: identity(trackerId, `${prefix}-${i}`), owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA });
    return r.status === 'claimed';
  });
}
