// The transactional pattern of the existing DevNexus authority, rebuilt for comparison:
// per claim, on a pooled connection, BEGIN; one advisory lock over the whole tracker scope;
// SELECT ... FOR UPDATE of the item; the expiry judged in JavaScript; an upsert; COMMIT.
// Five round trips, and the scope lock serialises every claim of the tracker.
import pg from 'pg';
import type { BenchContext } from './context.js';

export interface Baseline {
  claim(trackerId: string, workItemId: string, leaseHash: Buffer): Promise<boolean>;
  roundTripsPerClaim: number;
  close(): Promise<void>;
}

export async function createBaselineTable(ctx: BenchContext, schema: string): Promise<void> {
  await ctx.admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await ctx.admin.query(`CREATE TABLE IF NOT EXISTS "${schema}".claims (
  claim_key text PRIMARY KEY,
  project_id text NOT NULL,
  tracker_id text NOT NULL,
  work_item_id text NOT NULL,
  fencing_token bigint NOT NULL,
  state text NOT NULL,
  lease_token_sha256 bytea NOT NULL,
  host_id text NOT NULL,
  agent_id text,
  owner_id text NOT NULL,
  claimed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  last_heartbeat_at timestamptz,
  heartbeat_count integer NOT NULL DEFAULT 0,
  released_at timestamptz,
  released_by text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`);
}

export async function openBaseline(ctx: BenchContext, schema: string, connections: number): Promise<Baseline> {
  const pool = new pg.Pool({ connectionString: ctx.url, max: connections, application_name: 'dev-nexus-bench-baseline' });
  pool.on('error', () => {});
  const s = `"${schema}"`;
  const lock = { name: 'baseline_lock', text: 'SELECT pg_advisory_xact_lock(hashtext($1))' };
  const select = {
    name: 'baseline_select',
    text: `SELECT claim_key, state, fencing_token, expires_at, host_id FROM ${s}.claims WHERE claim_key = $1 FOR UPDATE`,
  };
  const upsert = {
    name: 'baseline_upsert',
    text: `INSERT INTO ${s}.claims AS c (claim_key, project_id, tracker_id, work_item_id, fencing_token, state, lease_token_sha256,
      host_id, agent_id, owner_id, claimed_at, expires_at, metadata)
    VALUES ($1, $2, $3, $4, 1, 'active', $5, $6, $7, $8, now(), now() + $9::bigint * interval '1 millisecond', $10::jsonb)
    ON CONFLICT (claim_key) DO UPDATE SET fencing_token = c.fencing_token + 1, state = 'active',
      lease_token_sha256 = excluded.lease_token_sha256, host_id = excluded.host_id, agent_id = excluded.agent_id,
      owner_id = excluded.owner_id, claimed_at = now(), expires_at = excluded.expires_at, released_at = NULL,
      released_by = NULL, metadata = excluded.metadata, updated_at = now()
    RETURNING *`,
  };
  return {
    roundTripsPerClaim: 5,
    async claim(trackerId, workItemId, leaseHash) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        await client.query({ ...lock, values: [`bench/${trackerId}`] });
        const key = JSON.stringify({ projectId: 'bench', trackerId, workItemId });
        const { rows } = await client.query({ ...select, values: [key] });
        const row = rows[0] as { state: string; expires_at: Date } | undefined;
        // The reference judges expiry with this host's wall clock.
        if (row && row.state === 'active' && row.expires_at.getTime() > Date.now()) {
          await client.query('ROLLBACK');
          return false;
        }
        await client.query({
          ...upsert,
          values: [key, 'bench', trackerId, workItemId, leaseHash, 'bench-host', 'bench-agent', 'bench-host/bench-agent', 30_000, '{"componentId":"bench"}'],
        });
        await client.query('COMMIT');
        return true;
      } catch (error) {
        broken = error as Error;
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
