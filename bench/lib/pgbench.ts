// pgbench, the calibration tool: found on the machine or skipped (never installed here).
// It connects through the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE),
// never through argv, so no password shows in a process list.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { claimStatements } from '../../src/claims/postgres/statements.js';

/** DEV_NEXUS_BENCH_PGBENCH: a path to use, or `none` to run without pgbench (the ceiling ratios are then skipped). */
export function findPgbench(): string | null {
  if (process.env.DEV_NEXUS_BENCH_PGBENCH === 'none') return null;
  const candidates = [
    process.env.DEV_NEXUS_BENCH_PGBENCH,
    '/usr/bin/pgbench',
    ...(process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => join(dir, 'pgbench')),
    ...safeList('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`),
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function pgbenchVersion(bin: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 10_000 }, (error, stdout) => resolve(error ? 'unknown' : stdout.trim()));
  });
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  failedTransactions: number;
  latencyAverageMs: number;
  /** CPU time of the pgbench process itself (user + system), ms. */
  clientCpuMs: number;
  ok: boolean;
  /** The last lines of pgbench's output when it failed (no secrets: it never sees the URL). */
  problem?: string;
}

/**
 * Run pgbench with `args` in the given libpq environment, under bash so `times` reports its
 * CPU time. Killed after `timeoutMs`.
 */
export function runPgbench(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PgbenchResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', '"$0" "$@"; rc=$?; times 1>&2; exit $rc', bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (re: RegExp, text = stdout) => {
        const m = re.exec(text);
        return m ? Number(m[1]) : NaN;
      };
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
      const timesLines = stderr.trim().split('\n').slice(-2);
      const child = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(timesLines[1] ?? '');
      const clientCpuMs = child ? (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000 : NaN;
      const tps = num(/tps = ([\d.]+) \(without initial connection time\)/);
      const result: PgbenchResult = {
        tps,
        transactions: num(/number of transactions actually processed: (\d+)/),
        failedTransactions: num(/number of failed transactions: (\d+)/) || 0,
        latencyAverageMs: num(/latency average = ([\d.]+) ms/),
        clientCpuMs,
        ok: code === 0 && Number.isFinite(tps),
      };
      if (!result.ok) {
        result.problem = `${stdout}\n${stderr}`.trim().split('\n').filter((l) => !/^\d+m[\d.]+s/.test(l)).slice(-4).join(' | ');
      }
      resolve(result);
    });
  });
}

/** pgbench's variables for $1..$9 of the claim statement, in order. */
const CLAIM_VARIABLES = ['project', 'tracker', 'id', 'lease_hash', 'host', 'agent', 'owner', 'lease_ms', 'metadata'];

/**
 * The claim statement of `schema`, exactly as the authority sends it, with pgbench variables
 * in place of $1..$9. One change that does not alter the result: pgbench (-M prepared) turns
 * every `:word` into a parameter, even inside a string literal, so the to_char format's
 * `HH24:MI:SS` is written `HH24":"MI":"SS` (a quoted literal colon; the same output).
 */
export function pgbenchClaimScript(schema: string): { script: string; changes: string[] } {
  const text = claimStatements(schema).claim.text;
  let script = text.replace(/\$(\d)(?!\d)/g, (_, n: string) => `:${CLAIM_VARIABLES[Number(n) - 1]}`);
  const before = script;
  script = script.replaceAll('HH24:MI:SS', 'HH24":"MI":"SS');
  const changes = [`$1..$9 -> ${CLAIM_VARIABLES.map((v) => `:${v}`).join(', ')}`];
  if (script !== before) changes.push('to_char format HH24:MI:SS written HH24":"MI":"SS (same output; pgbench would take :MI and :SS for variables)');
  // Any other `:identifier` would become an undefined variable: refuse rather than measure something else.
  const leftover = [...script.matchAll(/(?<!:):([A-Za-z_]\w*)/g)].map((m) => m[1]!).filter((v) => !CLAIM_VARIABLES.includes(v));
  if (leftover.length > 0) throw new Error(`the claim statement has text pgbench would read as variables: ${leftover.join(', ')}`);
  // A huge id range: practically every transaction is a fresh insert, like the Node claim phase.
  return { script: `\\set id random(1, 1000000000000)\n${script};\n`, changes };
}
