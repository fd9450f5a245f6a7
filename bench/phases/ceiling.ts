// Phase: our claims/s against the ceiling and the baseline at the same concurrency, measured
// in adjacent windows of the same run (rounds of: ours, pgbench running the identical claim
// statement, pgbench simple-update, and at 8 coordinators the DevNexus transactional pattern).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openBaseline, type Baseline } from '../lib/baseline.js';
import { freshClaims, LEASE_MS, openAuthority, OWNER, PROJECT, warmUp, type BenchAuthority } from '../lib/claims.js';
import type { BenchContext } from '../lib/context.js';
import { cpuSpan, type CpuSpan } from '../lib/cpu.js';
import { pgbenchClaimScript, runPgbench } from '../lib/pgbench.js';
import { claimStatements } from '../../src/claims/postgres/statements.js';
import { drive, perSecond, Samples } from '../lib/stats.js';

export type ArmName = 'ours' | 'node_raw' | 'pgbench_claim' | 'pgbench_simple_update' | 'baseline';

export interface ArmFigures {
  arm: ArmName;
  coordinators: number;
  rounds: number;
  perSecond: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  roundTripsPerClaim: number;
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number;
  /** CPU the rest of the machine (other tenants) used during this arm, in cores. */
  otherLoadCores: number;
  /** pgbench claim arm: claim rows its transactions left (each transaction should insert one). */
  rowsWritten?: number;
  problem?: string;
}

export interface CeilingSetup {
  pgbench: string | null;
  /** Database initialised with pgbench -i -s 1, or null when that failed. */
  calibrationDatabase: string | null;
  claimScriptChanges: string[];
  scriptPath: string | null;
  dir: string;
}

export async function prepareCeiling(ctx: BenchContext, schema: string, pgbench: string | null, log: (l: string) => void): Promise<CeilingSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'dev-nexus-bench-'));
  ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
  const setup: CeilingSetup = { pgbench, calibrationDatabase: null, claimScriptChanges: [], scriptPath: null, dir };
  if (!pgbench) return setup;
  const { script, changes } = pgbenchClaimScript(schema);
  setup.scriptPath = join(dir, 'claim.sql');
  setup.claimScriptChanges = changes;
  await writeFile(setup.scriptPath, script);
  const database = `${schema}_pgbench`;
  try {
    await ctx.admin.query(`CREATE DATABASE "${database}"`);
    ctx.onCleanup(async () => {
      await ctx.admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    });
    const init = await runPgbench(pgbench, ['-i', '-s', '1', '-q'], ctx.libpqEnv(database), 120_000);
    // pgbench -i prints no tps line: judge it by the table it creates.
    const check = new pg.Client({ connectionString: ctx.urlFor(database) });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT count(*)::int AS n FROM pgbench_accounts`);
      if (Number(rows[0]?.n) === 100_000) setup.calibrationDatabase = database;
      else log(`pgbench -i did not load pgbench_accounts (${init.problem ?? 'no rows'}); simple-update is skipped`);
    } finally {
      await check.end();
    }
  } catch (error) {
    log(`pgbench calibration database not created (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); simple-update is skipped`);
  }
  return setup;
}

const leaseHash = createHash('sha256').update('pgbench lease token').digest();

function pgbenchClaimArgs(setup: CeilingSetup, k: number, seconds: number, trackerId: string): string[] {
  return [
    '-M', 'prepared', '-n', '-c', String(k), '-j', String(Math.min(2, k)), '-T', String(seconds), '-f', setup.scriptPath!,
    '-D', `project=${PROJECT}`, '-D', `tracker=${trackerId}`, '-D', `lease_hash=\\x${leaseHash.toString('hex')}`,
    '-D', `host=${OWNER.hostId}`, '-D', `agent=${OWNER.agentId}`, '-D', `owner=${OWNER.ownerId}`,
    '-D', `lease_ms=${LEASE_MS}`, '-D', 'metadata={"componentId":"bench"}',
  ];
}

interface Acc {
  ok: number;
  failed: number;
  elapsedMs: number;
  latencies: Samples;
  clientMs: number;
  serverMs: number;
  otherMs: number;
  wallMs: number;
  tpsSum: number;
  rounds: number;
  rows?: number;
  problem?: string;
}

const emptyAcc = (): Acc => ({ ok: 0, failed: 0, elapsedMs: 0, latencies: new Samples(), clientMs: 0, serverMs: 0, otherMs: 0, wallMs: 0, tpsSum: 0, rounds: 0 });

/** `externalClientMs`: CPU of a client process other than this one (pgbench); else this process is the client. */
function addCpu(acc: Acc, cpu: CpuSpan, externalClientMs?: number): void {
  const client = externalClientMs ?? cpu.nodeMs;
  acc.clientMs += client;
  acc.serverMs += cpu.serverMs;
  acc.wallMs += cpu.wallMs;
  // Whatever else the machine did meanwhile: the other tenants of this shared machine.
  acc.otherMs += Math.max(0, cpu.machineBusyMs - cpu.nodeMs - cpu.serverMs - (externalClientMs ?? 0));
}

export async function runCeiling(
  ctx: BenchContext,
  schema: string,
  setup: CeilingSetup,
  k: number,
  options: { seconds: number; rounds: number; withBaseline: boolean; withRaw: boolean; baselineSchema: string },
  log: (l: string) => void,
): Promise<ArmFigures[]> {
  const acc: Record<ArmName, Acc> = { ours: emptyAcc(), node_raw: emptyAcc(), pgbench_claim: emptyAcc(), pgbench_simple_update: emptyAcc(), baseline: emptyAcc() };
  let ours: BenchAuthority | null = null;
  let baseline: Baseline | null = null;
  const raw: pg.Client[] = [];
  const claim = claimStatements(schema).claim;
  const rawValues = (trackerId: string, id: string) => [PROJECT, trackerId, id, leaseHash, OWNER.hostId, OWNER.agentId, OWNER.ownerId, LEASE_MS, '{"componentId":"bench"}'];
  const run = `${k}-${randomUUID().slice(0, 8)}`;
  try {
    ours = await openAuthority(ctx, schema, k);
    await warmUp(ours, k, `ceiling-warm-${run}`);
    if (options.withBaseline) {
      baseline = await openBaseline(ctx, options.baselineSchema, k);
      await drive(k, k * 4, 10_000, (i) => baseline!.claim(`warm-${run}`, `w-${i}`, leaseHash));
    }
    if (options.withRaw) {
      for (let i = 0; i < k; i += 1) {
        const c = new pg.Client({ connectionString: ctx.url, application_name: 'dev-nexus-bench-raw' });
        c.on('error', () => {});
        await c.connect();
        raw.push(c);
        await c.query({ ...claim, values: rawValues(`raw-warm-${run}`, `w-${i}`) });
      }
    }
    const capMs = options.seconds * 1000;
    for (let round = 0; round < options.rounds; round += 1) {
      {
        const end = cpuSpan(ctx.serverCpu);
        const calls0 = ours.client.calls;
        const r = await freshClaims(ours, k, `ceiling-ours-${run}`, `r${round}`, Number.MAX_SAFE_INTEGER, capMs);
        const cpu = end();
        const a = acc.ours;
        a.ok += r.ok;
        a.failed += r.failed;
        a.elapsedMs += r.elapsedMs;
        a.latencies.merge(r.latencies);
        a.rounds += 1;
        a.tpsSum += ours.client.calls - calls0; // round trips, divided by ok below
        addCpu(a, cpu);
      }
      if (raw.length > 0) {
        // The identical statement through node-postgres alone: one client per coordinator, no
        // pool, no authority (no validation, hashing or record mapping): the Node floor.
        const end = cpuSpan(ctx.serverCpu);
        const r = await drive(k, Number.MAX_SAFE_INTEGER, capMs, async (i, w) => {
          const rows = (await raw[w]!.query({ ...claim, values: rawValues(`ceiling-raw-${run}`, `r${round}-${i}`) })).rows;
          return rows.length === 1;
        });
        const cpu = end();
        const a = acc.node_raw;
        a.ok += r.ok;
        a.failed += r.failed;
        a.elapsedMs += r.elapsedMs;
        a.latencies.merge(r.latencies);
        a.rounds += 1;
        addCpu(a, cpu);
      }
      if (setup.pgbench && setup.scriptPath) {
        const end = cpuSpan(ctx.serverCpu);
        const trackerId = `ceiling-pgbench-${run}-${round}`;
        const r = await runPgbench(setup.pgbench, pgbenchClaimArgs(setup, k, options.seconds, trackerId), ctx.libpqEnv(), capMs + 30_000);
        const cpu = end();
        const a = acc.pgbench_claim;
        const { rows } = await ctx.admin.query(`SELECT count(*)::int AS n FROM "${schema}".work_item_claims WHERE project_id = $1 AND tracker_id = $2`, [PROJECT, trackerId]);
        a.rows = (a.rows ?? 0) + Number(rows[0]?.n ?? 0);
        if (r.ok) {
          a.ok += r.transactions;
          a.failed += r.failedTransactions;
          a.tpsSum += r.tps;
          a.rounds += 1;
          addCpu(a, cpu, r.clientCpuMs);
        } else {
          a.problem = r.problem;
          log(`pgbench (claim statement, ${k} clients) failed: ${r.problem}`);
        }
      }
      if (setup.pgbench && setup.calibrationDatabase) {
        const end = cpuSpan(ctx.serverCpu);
        const args = ['-M', 'prepared', '-n', '-b', 'simple-update', '-c', String(k), '-j', String(Math.min(2, k)), '-T', String(options.seconds)];
        const r = await runPgbench(setup.pgbench, args, ctx.libpqEnv(setup.calibrationDatabase), capMs + 30_000);
        const cpu = end();
        const a = acc.pgbench_simple_update;
        if (r.ok) {
          a.ok += r.transactions;
          a.failed += r.failedTransactions;
          a.tpsSum += r.tps;
          a.rounds += 1;
          addCpu(a, cpu, r.clientCpuMs);
        } else {
          a.problem = r.problem;
          log(`pgbench simple-update (${k} clients) failed: ${r.problem}`);
        }
      }
      if (baseline) {
        const end = cpuSpan(ctx.serverCpu);
        const b = baseline;
        const r = await drive(k, Number.MAX_SAFE_INTEGER, capMs, (i) => b.claim(`ceiling-baseline-${run}`, `r${round}-${i}`, leaseHash));
        const cpu = end();
        const a = acc.baseline;
        a.ok += r.ok;
        a.failed += r.failed;
        a.elapsedMs += r.elapsedMs;
        a.latencies.merge(r.latencies);
        a.rounds += 1;
        addCpu(a, cpu);
      }
    }
  } finally {
    await ours?.close();
    await baseline?.close();
    await Promise.all(raw.map((c) => c.end().catch(() => {})));
  }

  const figures: ArmFigures[] = [];
  for (const arm of ['ours', 'node_raw', 'pgbench_claim', 'pgbench_simple_update', 'baseline'] as const) {
    const a = acc[arm];
    if (a.rounds === 0 && !a.problem) continue;
    const node = arm === 'ours' || arm === 'baseline' || arm === 'node_raw';
    const s = a.latencies.summary();
    figures.push({
      arm,
      coordinators: k,
      rounds: a.rounds,
      perSecond: node ? perSecond(a.ok, a.elapsedMs) : a.rounds > 0 ? a.tpsSum / a.rounds : NaN,
      ok: a.ok,
      failed: a.failed,
      p50Ms: node ? s.p50Ms : NaN,
      p99Ms: node ? s.p99Ms : NaN,
      roundTripsPerClaim: arm === 'ours' ? a.tpsSum / Math.max(1, a.ok) : arm === 'baseline' ? 5 : 1,
      clientCpuUsPerOp: a.ok > 0 ? (a.clientMs * 1000) / a.ok : NaN,
      serverCpuUsPerOp: a.ok > 0 ? (a.serverMs * 1000) / a.ok : NaN,
      otherLoadCores: a.wallMs > 0 ? a.otherMs / a.wallMs : NaN,
      ...(a.rows !== undefined ? { rowsWritten: a.rows } : {}),
      ...(a.problem ? { problem: a.problem } : {}),
    });
  }
  return figures;
}
