// Phase: claim, heartbeat and release from Node with K coordinators sharing a pool of K
// connections, over N items (fresh claims), with throughput, p50/p99 and round trips per op.
import { randomUUID } from 'node:crypto';
import type { BenchContext } from '../lib/context.js';
import { cpuSpan } from '../lib/cpu.js';
import { identity, LEASE_MS, METADATA, openAuthority, OWNER, warmUp } from '../lib/claims.js';
import { drive, perSecond, type LoadResult } from '../lib/stats.js';

export interface OpFigures {
  operation: 'claim' | 'heartbeat' | 'release';
  coordinators: number;
  ok: number;
  failed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  roundTripsPerOp: number;
  /** CPU per successful operation, microseconds: this Node process and the server. */
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number;
  cappedByTime: boolean;
  errors: string[];
}

export async function runOps(ctx: BenchContext, schema: string, coordinators: number, items: number, capMs: number): Promise<OpFigures[]> {
  const a = await openAuthority(ctx, schema, coordinators);
  const trackerId = `ops-k${coordinators}`;
  try {
    await warmUp(a, coordinators, `${trackerId}-warm`);
    const tokens: (string | undefined)[] = new Array(items);
    const fencing: number[] = new Array(items);

    const figures: OpFigures[] = [];
    const measure = async (operation: OpFigures['operation'], count: number, op: (i: number) => Promise<boolean>) => {
      const calls0 = a.client.calls;
      const end = cpuSpan(ctx.serverCpu);
      const result: LoadResult = await drive(coordinators, count, capMs, op);
      const cpu = end();
      const s = result.latencies.summary();
      figures.push({
        operation,
        coordinators,
        ok: result.ok,
        failed: result.failed,
        perSecond: perSecond(result.ok, result.elapsedMs),
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        maxMs: s.maxMs,
        roundTripsPerOp: result.ok > 0 ? (a.client.calls - calls0) / result.ok : NaN,
        clientCpuUsPerOp: (cpu.nodeMs * 1000) / result.ok,
        serverCpuUsPerOp: (cpu.serverMs * 1000) / result.ok,
        cappedByTime: result.cappedByTime,
        errors: result.errors,
      });
    };

    await measure('claim', items, async (i) => {
      const leaseToken = randomUUID();
      const r = await a.authority.claim({ identity: identity(trackerId, `item-${i}`), owner: OWNER, leaseToken, leaseDurationMs: LEASE_MS, metadata: METADATA });
      if (r.status !== 'claimed') return false;
      tokens[i] = leaseToken;
      fencing[i] = r.claim.fencingToken;
      return true;
    });
    const held = tokens.flatMap((t, i) => (t ? [i] : []));
    await measure('heartbeat', held.length, async (n) => {
      const i = held[n]!;
      const r = await a.authority.heartbeat({ identity: identity(trackerId, `item-${i}`), leaseToken: tokens[i]!, fencingToken: fencing[i], leaseDurationMs: LEASE_MS });
      return r.status === 'heartbeat';
    });
    await measure('release', held.length, async (n) => {
      const i = held[n]!;
      const r = await a.authority.release({ identity: identity(trackerId, `item-${i}`), leaseToken: tokens[i]!, fencingToken: fencing[i], releasedBy: OWNER.ownerId });
      return r.status === 'released' && !r.alreadyReleased;
    });
    return figures;
  } finally {
    await a.close();
  }
}
