// Phase: cost growth. The claims and events tables are filled to 10k, 100k and 1M released
// claims with their audit events ('granted' + 'released' per claim) by bulk SQL
// (generate_series), not by a million statements; then ~1000 fresh claims (inserts) and
// re-claims of old released items (the ON CONFLICT update path) are timed at that size, and
// the table and index sizes are read.
import { randomUUID } from 'node:crypto';
import { identity, LEASE_MS, METADATA, openAuthority, OWNER, PROJECT, warmUp } from '../lib/claims.js';
import type { BenchContext } from '../lib/context.js';
import { drive, type LatencySummary } from '../lib/stats.js';

export interface GrowthStep {
  claims: number;
  events: number;
  loadMs: number;
  vacuumMs: number;
  freshClaim: LatencySummary;
  reclaim: LatencySummary;
  /** claim-next's inspect of 100 candidates (50 of them claimed) in the tracker that holds every loaded claim. */
  inspect100: LatencySummary;
  claimsTable: { totalBytes: number; heapBytes: number; indexBytes: number };
  eventsTable: { totalBytes: number; heapBytes: number; indexBytes: number };
  bytesPerClaimLifecycle: number;
}

const TRACKER = 'growth';

export async function runGrowth(ctx: BenchContext, schema: string, sizes: number[], options: { samples: number; capMs: number; chunk: number }, log: (l: string) => void): Promise<{ steps: GrowthStep[]; stoppedEarly: string | null; prune: PruneDemo | null }> {
  const s = `"${schema}"`;
  const a = await openAuthority(ctx, schema, 1);
  const steps: GrowthStep[] = [];
  const deadline = performance.now() + options.capMs;
  let loaded = 0;
  let stoppedEarly: string | null = null;
  const reclaimed = new Set<number>();
  try {
    await warmUp(a, 1, `${TRACKER}-warm`);
    for (const size of sizes) {
      const t0 = performance.now();
      while (loaded < size) {
        if (performance.now() > deadline) {
          stoppedEarly = `time cap reached while loading toward ${size.toLocaleString('en-US')} claims (at ${loaded.toLocaleString('en-US')})`;
          break;
        }
        const from = loaded + 1;
        const to = Math.min(size, loaded + options.chunk);
        await bulkLoad(ctx, s, from, to);
        loaded = to;
      }
      if (stoppedEarly) break;
      const loadMs = performance.now() - t0;
      // A steady-state table has been vacuumed and analysed by autovacuum; do it now, so the
      // measurement below is not disturbed by autovacuum starting in the middle of it.
      const v0 = performance.now();
      await ctx.admin.query(`VACUUM (ANALYZE) ${s}.work_item_claims`);
      await ctx.admin.query(`VACUUM (ANALYZE) ${s}.work_item_claim_events`);
      const vacuumMs = performance.now() - v0;
      const fresh = await drive(1, options.samples, 20_000, async (i) => {
        const r = await a.authority.claim({ identity: identity(TRACKER, `fresh-${size}-${i}`), owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA });
        return r.status === 'claimed';
      });
      // Re-claims of released items spread over the loaded range (the index lookup into a big table).
      const stride = Math.max(1, Math.floor(size / options.samples));
      const reclaim = await drive(1, Math.min(options.samples, size), 20_000, async (i) => {
        let n = 1 + ((i * stride + 7) % size);
        while (reclaimed.has(n)) n = (n % size) + 1; // an item re-claimed at an earlier size is held now
        reclaimed.add(n);
        const r = await a.authority.claim({ identity: identity(TRACKER, `old-${String(n).padStart(8, '0')}`), owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA });
        return r.status === 'claimed';
      });
      const candidates = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `fresh-${size}-${i}` : `new-${size}-${i}`));
      const inspect = await drive(1, Math.min(200, options.samples), 10_000, async () => {
        const r = await a.authority.inspect({ projectId: PROJECT, trackerId: TRACKER, workItemIds: candidates });
        return r.active.length === 50;
      });
      const sizeOf = async (table: string) => {
        const { rows } = await ctx.admin.query(
          `SELECT pg_total_relation_size($1::regclass) AS total, pg_relation_size($1::regclass) AS heap, pg_indexes_size($1::regclass) AS idx`,
          [`${s}.${table}`],
        );
        const r = rows[0] as { total: string; heap: string; idx: string };
        return { totalBytes: Number(r.total), heapBytes: Number(r.heap), indexBytes: Number(r.idx) };
      };
      const { rows: counts } = await ctx.admin.query(`SELECT (SELECT count(*) FROM ${s}.work_item_claims) AS c, (SELECT count(*) FROM ${s}.work_item_claim_events) AS e`);
      const claimsTable = await sizeOf('work_item_claims');
      const eventsTable = await sizeOf('work_item_claim_events');
      const claims = Number(counts[0]?.c);
      const step: GrowthStep = {
        claims,
        events: Number(counts[0]?.e),
        loadMs,
        vacuumMs,
        freshClaim: fresh.latencies.summary(),
        reclaim: reclaim.latencies.summary(),
        inspect100: inspect.latencies.summary(),
        claimsTable,
        eventsTable,
        bytesPerClaimLifecycle: (claimsTable.totalBytes + eventsTable.totalBytes) / claims,
      };
      if (fresh.failed || reclaim.failed || inspect.failed) log(`  growth ${size}: ${fresh.failed} fresh claims, ${reclaim.failed} re-claims and ${inspect.failed} inspects did not succeed (${[...fresh.errors, ...reclaim.errors, ...inspect.errors].join('; ')})`);
      steps.push(step);
      log(`  ${size.toLocaleString('en-US')} claims loaded in ${(loadMs / 1000).toFixed(1)} s; fresh claim p50 ${step.freshClaim.p50Ms.toFixed(3)} ms`);
    }
    const prune = loaded > 0 ? await pruneDemo(ctx, s) : null;
    return { steps, stoppedEarly, prune };
  } finally {
    await a.close();
  }
}

export interface PruneDemo {
  /** Released items whose whole event history was deleted. */
  items: number;
  eventsDeleted: number;
  ms: number;
  eventsLeft: number;
}

/**
 * The pruning recipe of operatorAdvice, run for real on the loaded table: delete the whole
 * event histories of items released before a cutoff (here: one batch of 10,000 items released before a cutoff).
 */
async function pruneDemo(ctx: BenchContext, s: string): Promise<PruneDemo> {
  const client = await ctx.admin.connect();
  try {
    const t0 = performance.now();
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    // One batch of the recipe: the whole histories of 10,000 items released before the cutoff.
    const { rowCount } = await client.query(
      `DELETE FROM ${s}.work_item_claim_events e
       USING (SELECT project_id, tracker_id, work_item_id FROM ${s}.work_item_claims
              WHERE state = 'released' AND released_at < clock_timestamp() - interval '399 days'
              ORDER BY project_id, tracker_id, work_item_id LIMIT 10000) AS c
       WHERE (e.project_id, e.tracker_id, e.work_item_id) = (c.project_id, c.tracker_id, c.work_item_id)`,
    );
    await client.query('COMMIT');
    const ms = performance.now() - t0;
    const { rows } = await client.query(`SELECT count(*) AS n FROM ${s}.work_item_claim_events`);
    return { items: Math.round((rowCount ?? 0) / 2), eventsDeleted: rowCount ?? 0, ms, eventsLeft: Number(rows[0]?.n) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Claims from..to, released, with their 'granted' and 'released' events, in one transaction. */
async function bulkLoad(ctx: BenchContext, s: string, from: number, to: number): Promise<void> {
  const client = await ctx.admin.connect();
  try {
    await client.query('BEGIN');
    // Each lifecycle: claimed 1 s apart in the past, released after 20 s, lease 30 s. Item ids are
    // zero-padded and rows go in key order, so the indexes grow at their right edge (like
    // date-prefixed work item ids do) and the load stays fast.
    await client.query(
      `INSERT INTO ${s}.work_item_claims
        (project_id, tracker_id, work_item_id, fencing_token, state, lease_token_sha256, host_id, agent_id, owner_id,
         claimed_at, expires_at, heartbeat_count, released_at, released_by, metadata, created_at, updated_at)
      SELECT $1, $2, 'old-' || lpad(g::text, 8, '0'), 1, 'released', sha256(convert_to(g::text, 'UTF8')), 'host-' || (g % 32), 'bench-agent', 'host-' || (g % 32) || '/bench-agent',
        t.at, t.at + interval '30 seconds', 0, t.at + interval '20 seconds', 'host-' || (g % 32) || '/bench-agent', $3::jsonb, t.at, t.at + interval '20 seconds'
      FROM generate_series($4::bigint, $5::bigint) AS g,
        LATERAL (SELECT clock_timestamp() - interval '400 days' + g * interval '1 second' AS at) AS t
      ORDER BY g`,
      [PROJECT, TRACKER, JSON.stringify(METADATA), from, to],
    );
    await client.query(
      `INSERT INTO ${s}.work_item_claim_events
        (project_id, tracker_id, work_item_id, kind, fencing_token, host_id, agent_id, owner_id, at, expires_at, reclaimed_from_fencing_token, released_by)
      SELECT $1, $2, 'old-' || lpad(g::text, 8, '0'), k.kind, 1, 'host-' || (g % 32), 'bench-agent', 'host-' || (g % 32) || '/bench-agent',
        CASE k.kind WHEN 'granted' THEN t.at ELSE t.at + interval '20 seconds' END,
        CASE k.kind WHEN 'granted' THEN t.at + interval '30 seconds' END,
        NULL, CASE k.kind WHEN 'released' THEN 'host-' || (g % 32) || '/bench-agent' END
      FROM generate_series($3::bigint, $4::bigint) AS g,
        LATERAL (SELECT clock_timestamp() - interval '400 days' + g * interval '1 second' AS at) AS t,
        (VALUES (1, 'granted'), (2, 'released')) AS k(n, kind)
      ORDER BY g, k.n`,
      [PROJECT, TRACKER, from, to],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** What an operator should prune or vacuum, given what the growth phase measured. */
export function operatorAdvice(steps: GrowthStep[], schema = 'dev_nexus'): string[] {
  const last = steps[steps.length - 1];
  const perClaim = last ? Math.round(last.bytesPerClaimLifecycle) : NaN;
  const s = `"${schema}"`;
  return [
    `Growth: every claim keeps one row in work_item_claims forever (rows are never deleted: the fencing token must never go back), and adds 2 event rows (granted + released) plus 1 per heartbeat to work_item_claim_events; measured ~${perClaim} bytes per claim lifecycle (tables + indexes) at ${last?.claims.toLocaleString('en-US') ?? '?'} claims.`,
    `Prune events, not claims. The events table refuses UPDATE and DELETE through a trigger (append-only); pruning is an operator decision, taken with a role that owns the table, never by the runtime role. Delete whole histories of items released long ago, so the audit checker still sees each remaining item's history from a grant on:`,
    `  BEGIN; SET LOCAL session_replication_role = replica;  -- skips the append-only trigger for this transaction only (superuser); ALTER TABLE ... DISABLE TRIGGER would take an ACCESS EXCLUSIVE lock and stall every claim meanwhile`,
    `  DELETE FROM ${s}.work_item_claim_events e USING (SELECT project_id, tracker_id, work_item_id FROM ${s}.work_item_claims WHERE state = 'released' AND released_at < now() - interval '90 days' AND (project_id, tracker_id, work_item_id) > ($1, $2, $3) ORDER BY 1, 2, 3 LIMIT 10000) c WHERE (e.project_id, e.tracker_id, e.work_item_id) = (c.project_id, c.tracker_id, c.work_item_id);  -- one batch of whole item histories; repeat from the last key`,
    `  COMMIT;  -- archive first (COPY ... TO) if the audit trail must be kept; then VACUUM ${s}.work_item_claim_events (space is reused; VACUUM FULL or pg_repack returns it to the OS but locks the table)`,
    `Do not prune by event_id or event time alone: cutting an item's history between its grant and its release makes the audit checker report the release as stale_token_accepted. A claim re-granted while its old history is pruned is safe: its new event is not in the DELETE's snapshot.`,
    `Vacuum: heartbeats, releases and re-claims update claim rows in place (HOT, fillfactor 80), leaving dead versions that autovacuum must clean; the defaults wait for 20% of a big table to be dead. For the claims table: ALTER TABLE ${s}.work_item_claims SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02); the events table is insert-only: ALTER TABLE ${s}.work_item_claim_events SET (autovacuum_vacuum_insert_scale_factor = 0.05) keeps its visibility map current and freezes it in small steps.`,
  ];
}
