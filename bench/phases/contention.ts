// Phase: K coordinators running claim-next's authority traffic over the same candidates until
// every one is claimed. Each claim-next, as src/automation/claim-next.ts does it: one inspect
// of the candidates' claims, then claims in candidate order (the same order for everyone);
// a lost race moves on to the next candidate.
import { randomUUID } from 'node:crypto';
import { identity, LEASE_MS, METADATA, openAuthority, OWNER, PROJECT } from '../lib/claims.js';
import type { BenchContext } from '../lib/context.js';
import { perSecond, Samples } from '../lib/stats.js';

export interface ContentionFigures {
  /** 'same_order': claim-next as it is (every coordinator walks the candidates in one order). 'spread': a what-if, each coordinator starts at its own offset. */
  order: 'same_order' | 'spread';
  coordinators: number;
  candidates: number;
  claimed: number;
  claimsPerSecond: number;
  claimNextCalls: number;
  attemptsPerClaim: number;
  lostRaces: number;
  roundTripsPerClaimNext: number;
  roundTripsPerClaim: number;
  claimNextP50Ms: number;
  claimNextP99Ms: number;
  inspectP50Ms: number;
  wonClaimP50Ms: number;
  /** A lost race: the claim statement, then the read that names the holder. */
  lostClaimP50Ms: number;
  lostClaimP99Ms: number;
  roundTripsByStatement: Record<string, number>;
  elapsedMs: number;
  errors: string[];
}

export async function runContention(ctx: BenchContext, schema: string, coordinators: number, candidates: number, capMs: number, order: ContentionFigures['order'] = 'same_order'): Promise<ContentionFigures> {
  const a = await openAuthority(ctx, schema, coordinators);
  const trackerId = `contention-${order}-k${coordinators}-${randomUUID().slice(0, 8)}`;
  const ids = Array.from({ length: candidates }, (_, i) => `cand-${String(i).padStart(4, '0')}`);
  let claimed = 0;
  let attempts = 0;
  let lost = 0;
  let claimNextCalls = 0;
  const errors: string[] = [];
  const latencies = new Samples();
  const inspectLatency = new Samples();
  const won = new Samples();
  const lostLatency = new Samples();
  try {
    // Open the pool and prepare the statements, outside the measured window.
    await Promise.all(Array.from({ length: coordinators }, () => a.authority.inspect({ projectId: PROJECT, trackerId, workItemIds: ids })));
    const calls0 = a.client.calls;
    const byName0 = new Map(a.client.byName);
    const start = performance.now();
    const deadline = start + capMs;
    const coordinator = async (c: number) => {
      const owner = { ...OWNER, hostId: `host-${c}`, ownerId: `host-${c}/bench-agent` };
      while (performance.now() < deadline) {
        const t0 = performance.now();
        claimNextCalls += 1;
        const seen = await a.authority.inspect({ projectId: PROJECT, trackerId, workItemIds: ids });
        inspectLatency.push(performance.now() - t0);
        const held = new Set(seen.active.map((r) => r.identity.workItemId));
        let open = ids.filter((id) => !held.has(id));
        if (order === 'spread' && open.length > 1) {
          // What-if: coordinator c starts at its own place in the list and wraps around.
          const start = Math.floor((c * open.length) / coordinators);
          open = [...open.slice(start), ...open.slice(0, start)];
        }
        if (open.length === 0) {
          latencies.push(performance.now() - t0);
          return; // every candidate is claimed: claim-next answers lost_race / no_claim
        }
        for (const id of open) {
          attempts += 1;
          const c0 = performance.now();
          try {
            const r = await a.authority.claim({ identity: identity(trackerId, id), owner, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA });
            if (r.status === 'claimed') {
              won.push(performance.now() - c0);
              claimed += 1;
              break;
            }
            lostLatency.push(performance.now() - c0);
            lost += 1;
          } catch (error) {
            if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
          }
        }
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: coordinators }, (_, c) => coordinator(c)));
    const elapsedMs = performance.now() - start;
    const calls = a.client.calls - calls0;
    const byName: Record<string, number> = {};
    for (const [name, n] of a.client.byName) byName[name] = n - (byName0.get(name) ?? 0);
    const s = latencies.summary();
    return {
      order,
      coordinators,
      candidates,
      claimed,
      claimsPerSecond: perSecond(claimed, elapsedMs),
      claimNextCalls,
      attemptsPerClaim: claimed > 0 ? attempts / claimed : NaN,
      lostRaces: lost,
      roundTripsPerClaimNext: claimNextCalls > 0 ? calls / claimNextCalls : NaN,
      roundTripsPerClaim: claimed > 0 ? calls / claimed : NaN,
      claimNextP50Ms: s.p50Ms,
      claimNextP99Ms: s.p99Ms,
      inspectP50Ms: inspectLatency.summary().p50Ms,
      wonClaimP50Ms: won.summary().p50Ms,
      lostClaimP50Ms: lostLatency.summary().p50Ms,
      lostClaimP99Ms: lostLatency.summary().p99Ms,
      roundTripsByStatement: byName,
      elapsedMs,
      errors,
    };
  } finally {
    await a.close();
  }
}
