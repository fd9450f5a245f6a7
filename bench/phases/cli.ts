// Phase: the wall time of one `dev-nexus work-item claim-next ... --json` process, Node start
// included, against `node -e 0`, in alternating runs; what the time is made of (the CLI's
// module graph, importing the package, the claim-next use case in-process).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openLocalTracker } from '../../src/trackers/local/index.js';
import { repoRoot, type BenchContext } from '../lib/context.js';
import { median } from '../lib/stats.js';

const URL_ENV = 'DEV_NEXUS_CLAIMS_DATABASE_URL';

export interface CliFigures {
  runs: number;
  nodeFloorMs: number;
  cliVersionMs: number;
  /** A process that only imports commander, zod and pg: the floor the CLI's dependencies set. */
  dependencyFloorMs: number;
  claimNextMs: number;
  ratioToFloor: number;
  packageImportMs: number;
  pgImportMs: number;
  /** In-process import time of the CLI's heavier dependencies (median of 3 fresh processes each). */
  dependencyImportMs: Record<string, number>;
  /** claimNext() called in an already started process (imports done): connect, 3 statements, tracker files, pool end. */
  useCaseInProcessMs: number;
  statuses: Record<string, number>;
  problem?: string;
}

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Proc> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    execFile(process.execPath, args, { env, cwd: repoRoot, timeout: 60_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      const ms = performance.now() - t0;
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr, ms });
    });
  });
}

export async function runCli(ctx: BenchContext, schema: string, runs: number, log: (l: string) => void): Promise<CliFigures | { skipped: string }> {
  const cli = join(repoRoot, 'dist', 'cli', 'main.js');
  const index = join(repoRoot, 'dist', 'index.js');
  const useCase = join(repoRoot, 'dist', 'automation', 'claim-next.js');
  if (!existsSync(cli) || !existsSync(index)) return { skipped: `${cli} not built: run make build (make bench does)` };
  const dir = await mkdtemp(join(tmpdir(), 'dev-nexus-bench-cli-'));
  ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
  const ws = join(dir, 'workspace');
  const home = join(dir, 'home');
  await mkdir(ws);
  // The connection string travels in the environment only, never in argv.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, [URL_ENV]: ctx.url };
  const init = await run([cli, 'init', ws, '--project-id', 'bench-cli', '--backend', 'postgres', '--home', home, '--connection-string-env', URL_ENV, '--schema', schema, '--lease-duration-ms', '600000', '--heartbeat-interval-ms', '60000', '--json'], env);
  if (init.code !== 0) return { skipped: `dev-nexus init failed (exit ${init.code}): ${init.stdout.slice(0, 300)}` };
  const tracker = openLocalTracker(ws, { trackerId: 'local' });
  const useCaseRuns = 5;
  for (let i = 0; i < runs + useCaseRuns + 4; i += 1) {
    await tracker.add({ id: `item-${String(i).padStart(3, '0')}`, title: `bench item ${i}`, body: '', labels: [], priority: 100 });
  }
  const claimArgs = [cli, 'work-item', 'claim-next', ws, '--home', home, '--host', 'h', '--json'];
  const statuses: Record<string, number> = {};
  const floor: number[] = [];
  const version: number[] = [];
  const deps: number[] = [];
  const depsArgs = ['--input-type=module', '-e', `await import('commander'); await import('zod'); await import('pg');`];
  const claim: number[] = [];
  let problem: string | undefined;
  // One warm-up of each (file cache, the server's plan cache is per connection anyway).
  await run(['-e', '0'], env);
  await run([cli, '--version'], env);
  await run(claimArgs, env);
  for (let i = 0; i < runs; i += 1) {
    floor.push((await run(['-e', '0'], env)).ms);
    version.push((await run([cli, '--version'], env)).ms);
    deps.push((await run(depsArgs, env)).ms);
    const r = await run(claimArgs, env);
    claim.push(r.ms);
    let status = `exit ${r.code}`;
    try {
      status = String(JSON.parse(r.stdout).claim?.status ?? status);
    } catch {
      // keep the exit code
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 'claimed' && !problem) problem = `claim-next answered ${status}: ${(r.stdout || r.stderr).slice(0, 200)}`;
  }
  const timed = async (script: string, args: string[], times = 5, optional = false) => {
    const values: number[] = [];
    for (let i = 0; i < times; i += 1) {
      const r = await run(['--input-type=module', '-e', script, ...args], env);
      const v = Number(r.stdout.trim());
      if (r.code === 0 && Number.isFinite(v)) values.push(v);
      else if (!problem && !optional) problem = `timing script failed: ${r.stderr.split('\n')[0]}`;
    }
    return values.length ? median(values) : NaN;
  };
  const importScript = `const t0 = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t0));`;
  const packageImportMs = await timed(importScript, [pathToFileURL(index).href]);
  const pgImportMs = await timed(importScript, ['pg']);
  const dependencyImportMs: Record<string, number> = {};
  for (const dep of ['commander', 'zod', '@modelcontextprotocol/sdk/server/mcp.js']) {
    const ms = await timed(importScript, [dep], 3, true);
    if (Number.isFinite(ms)) dependencyImportMs[dep] = ms;
  }
  const useCaseScript = `const { claimNext } = await import(process.argv[1]); await import('pg');
const t0 = performance.now();
const r = await claimNext({ workspaceRoot: process.argv[2], home: process.argv[3], hostId: 'h' });
if (r.status !== 'claimed') { console.error(r.status); process.exit(1); }
process.stdout.write(String(performance.now() - t0));`;
  const useCaseInProcessMs = await timed(useCaseScript, [pathToFileURL(useCase).href, ws, home]);
  log(`  node -e 0 ${median(floor).toFixed(1)} ms, --version ${median(version).toFixed(1)} ms, claim-next ${median(claim).toFixed(1)} ms`);
  const nodeFloorMs = median(floor);
  const claimNextMs = median(claim);
  return {
    runs,
    nodeFloorMs,
    cliVersionMs: median(version),
    dependencyFloorMs: median(deps),
    claimNextMs,
    ratioToFloor: claimNextMs / nodeFloorMs,
    packageImportMs,
    pgImportMs,
    dependencyImportMs,
    useCaseInProcessMs,
    statuses,
    ...(problem ? { problem } : {}),
  };
}
