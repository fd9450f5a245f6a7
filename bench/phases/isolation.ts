// Phase: claim latency on other items while one open transaction holds item A's row lock
// (BEGIN; SELECT ... FOR UPDATE on A, kept open), against the same workload without it.
// The two arms alternate in short windows so the machine's noise falls on both alike. During
// the first held window a second coordinator claims A itself: its wait is bounded by lock_timeout.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import { freshClaims, identity, LEASE_MS, METADATA, openAuthority, OWNER, PROJECT, warmUp } from '../lib/claims.js';
import type { BenchContext } from '../lib/context.js';
import { Samples, type LatencySummary } from '../lib/stats.js';

export interface IsolationFigures {
  coordinators: number;
  rounds: number;
  without: LatencySummary;
  withHeld: LatencySummary;
  p99Ratio: number;
  p50Ratio: number;
  failedWithHeld: number;
  /** The claim of A itself while held: its outcome and how long it waited. */
  probe: { outcome: string; waitedMs: number };
}

export async function runIsolation(ctx: BenchContext, schema: string, options: { coordinators: number; rounds: number; windowMs: number }): Promise<IsolationFigures> {
  const a = await openAuthority(ctx, schema, options.coordinators);
  const prober = await openAuthority(ctx, schema, 1);
  const holder = new pg.Client({ connectionString: ctx.url, application_name: 'dev-nexus-bench-holder' });
  await holder.connect();
  const trackerId = `isolation-${randomUUID().slice(0, 8)}`;
  const itemA = identity(trackerId, 'item-A');
  const without = new Samples();
  const withHeld = new Samples();
  let failedWithHeld = 0;
  let probe: Promise<{ outcome: string; waitedMs: number }> | null = null;
  try {
    await warmUp(a, options.coordinators, `${trackerId}-warm`);
    await warmUp(prober, 1, `${trackerId}-warm`);
    const first = await a.authority.claim({ identity: itemA, owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: 1, metadata: METADATA });
    if (first.status !== 'claimed') throw new Error('could not create item A');
    await new Promise((r) => setTimeout(r, 5)); // A's lease (1 ms) has expired: claimable, were it not locked
    for (let round = 0; round < options.rounds; round += 1) {
      const free = await freshClaims(a, options.coordinators, trackerId, `free-${round}`, Number.MAX_SAFE_INTEGER, options.windowMs);
      without.merge(free.latencies);
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM "${schema}".work_item_claims WHERE project_id = $1 AND tracker_id = $2 AND work_item_id = $3 FOR UPDATE`, [PROJECT, trackerId, 'item-A']);
      if (round === 0) {
        const t0 = performance.now();
        probe = prober.authority
          .claim({ identity: itemA, owner: { ...OWNER, hostId: 'prober', ownerId: 'prober' }, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS })
          .then(
            (r) => ({ outcome: r.status, waitedMs: performance.now() - t0 }),
            (e: unknown) => ({ outcome: e instanceof ClaimAuthorityError ? e.code : String(e), waitedMs: performance.now() - t0 }),
          );
      }
      const held = await freshClaims(a, options.coordinators, trackerId, `held-${round}`, Number.MAX_SAFE_INTEGER, options.windowMs);
      withHeld.merge(held.latencies);
      failedWithHeld += held.failed;
      if (round === 0) await probe;
      await holder.query('ROLLBACK');
    }
    const w = without.summary();
    const h = withHeld.summary();
    return {
      coordinators: options.coordinators,
      rounds: options.rounds,
      without: w,
      withHeld: h,
      p99Ratio: h.p99Ms / w.p99Ms,
      p50Ratio: h.p50Ms / w.p50Ms,
      failedWithHeld,
      probe: probe ? await probe : { outcome: 'not run', waitedMs: NaN },
    };
  } finally {
    await holder.end().catch(() => {});
    await prober.close();
    await a.close();
  }
}
