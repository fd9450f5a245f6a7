// Phase: where one claim's time goes, single coordinator. Adjacent small batches of: pool
// checkout alone; SELECT 1 (the protocol round trip) on a raw connection and through a pool;
// the claim statement on a raw connection (no pool, no authority); the authority's claim; and
// the server's own execution time of the claim statement (EXPLAIN ANALYZE, rolled back).
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { claimStatements } from '../../src/claims/postgres/statements.js';
import { identity, LEASE_MS, METADATA, openAuthority, OWNER, PROJECT, warmUp } from '../lib/claims.js';
import type { BenchContext } from '../lib/context.js';
import { median, Samples } from '../lib/stats.js';

export interface ProfileFigures {
  samplesPerStep: number;
  poolCheckoutP50Ms: number;
  select1RawP50Ms: number;
  select1PoolP50Ms: number;
  claimRawP50Ms: number;
  claimAuthorityP50Ms: number;
  claimAuthorityP99Ms: number;
  serverExecutionP50Ms: number;
  serverPlanningP50Ms: number;
  /** Node CPU per authority claim (hashing, parameters, parsing 22 columns, toRecord), microseconds. */
  clientCpuUsPerClaim: number;
}

export async function runProfile(ctx: BenchContext, schema: string, samples: number): Promise<ProfileFigures> {
  const raw = new pg.Client({ connectionString: ctx.url, application_name: 'dev-nexus-bench-profile' });
  await raw.connect();
  const pool = new pg.Pool({ connectionString: ctx.url, max: 1 });
  pool.on('error', () => {});
  const a = await openAuthority(ctx, schema, 1);
  const claim = claimStatements(schema).claim;
  const trackerId = `profile-${randomUUID().slice(0, 8)}`;
  const steps = {
    checkout: new Samples(),
    select1Raw: new Samples(),
    select1Pool: new Samples(),
    claimRaw: new Samples(),
    claimAuthority: new Samples(),
  };
  let n = 0;
  let cpuUs = 0;
  let authorityClaims = 0;
  const time = async (into: Samples, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    into.push(performance.now() - t0);
  };
  const rawValues = () => {
    n += 1;
    return [PROJECT, trackerId, `raw-${n}`, createHash('sha256').update(randomUUID()).digest(), OWNER.hostId, OWNER.agentId, OWNER.ownerId, LEASE_MS, JSON.stringify(METADATA)];
  };
  try {
    await warmUp(a, 1, `${trackerId}-warm`);
    await raw.query({ name: 'select1', text: 'SELECT 1' });
    await raw.query({ ...claim, values: rawValues() });
    (await pool.connect()).release();
    const batch = 50;
    for (let done = 0; done < samples; done += batch) {
      for (let i = 0; i < batch; i += 1) await time(steps.checkout, async () => (await pool.connect()).release());
      for (let i = 0; i < batch; i += 1) await time(steps.select1Raw, () => raw.query({ name: 'select1', text: 'SELECT 1' }));
      for (let i = 0; i < batch; i += 1) await time(steps.select1Pool, () => pool.query({ name: 'select1', text: 'SELECT 1' }));
      for (let i = 0; i < batch; i += 1) await time(steps.claimRaw, () => raw.query({ ...claim, values: rawValues() }));
      const c0 = process.cpuUsage();
      for (let i = 0; i < batch; i += 1) {
        await time(steps.claimAuthority, () =>
          a.authority.claim({ identity: identity(trackerId, `auth-${done + i}`), owner: OWNER, leaseToken: randomUUID(), leaseDurationMs: LEASE_MS, metadata: METADATA }),
        );
      }
      const c1 = process.cpuUsage(c0);
      cpuUs += c1.user + c1.system;
      authorityClaims += batch;
    }
    // The server's own execution time (no network, no parse/bind), in transactions rolled back.
    const exec: number[] = [];
    const plan: number[] = [];
    await raw.query(`PREPARE bench_claim AS ${claim.text}`);
    for (let i = 0; i < Math.min(200, samples); i += 1) {
      await raw.query('BEGIN');
      const v = rawValues().map((x) => (Buffer.isBuffer(x) ? `'\\x${x.toString('hex')}'::bytea` : typeof x === 'number' ? String(x) : raw.escapeLiteral(String(x))));
      const { rows } = await raw.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_claim(${v.join(', ')})`);
      await raw.query('ROLLBACK');
      const out = (rows[0] as Record<string, unknown>)['QUERY PLAN'] as { 'Execution Time': number; 'Planning Time': number }[];
      exec.push(Number(out[0]?.['Execution Time']));
      plan.push(Number(out[0]?.['Planning Time']));
    }
    const auth = steps.claimAuthority.summary();
    return {
      samplesPerStep: steps.claimAuthority.count,
      poolCheckoutP50Ms: steps.checkout.summary().p50Ms,
      select1RawP50Ms: steps.select1Raw.summary().p50Ms,
      select1PoolP50Ms: steps.select1Pool.summary().p50Ms,
      claimRawP50Ms: steps.claimRaw.summary().p50Ms,
      claimAuthorityP50Ms: auth.p50Ms,
      claimAuthorityP99Ms: auth.p99Ms,
      serverExecutionP50Ms: median(exec),
      serverPlanningP50Ms: median(plan),
      clientCpuUsPerClaim: cpuUs / authorityClaims,
    };
  } finally {
    await raw.end().catch(() => {});
    await pool.end().catch(() => {});
    await a.close();
  }
}
