// The benchmark's own PostgreSQL and what every phase shares: an admin pool, fresh schemas,
// the run's conditions, and the libpq environment for pgbench. The connection string is
// never printed: not in progress lines, not in the table, not in the results file.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderClaimAuthoritySchemaSql } from '../../src/claims/postgres/schema.js';
import { startTestPostgres } from '../../test/support/postgres-server.js';
import { ServerCpu } from './cpu.js';

export const BENCH_URL_ENV = 'DEV_NEXUS_BENCH_DATABASE_URL';

/** The repository root (build/bench/lib/ -> ../../../ ; bench/lib/ under tsc --noEmit -> ../../). */
export const repoRoot = fileURLToPath(new URL(import.meta.url.includes('/build/bench/') ? '../../../' : '../../', import.meta.url));

export interface Conditions {
  date: string;
  source: string;
  serverVersion: string;
  settings: Record<string, string>;
  durability: string;
  cpuCount: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverageAtStart: number[];
  node: string;
  nodePostgres: string;
  pgbench: string | null;
  serverCpuAccounting: boolean;
}

export interface BenchContext {
  /** Never print. */
  readonly url: string;
  readonly admin: pg.Pool;
  readonly quick: boolean;
  readonly serverCpu: ServerCpu | null;
  conditions: Conditions;
  /** A fresh schema with the claim DDL applied; dropped at the end. */
  newSchema(label: string): Promise<string>;
  /** libpq environment for pgbench (host, port, user, password, database): never argv. */
  libpqEnv(database?: string): NodeJS.ProcessEnv;
  /** A connection string for another database on the same server (never printed). */
  urlFor(database: string): string;
  onCleanup(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

const SETTINGS = [
  'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_connections',
  'autovacuum', 'default_transaction_isolation', 'password_encryption', 'jit',
] as const;

export async function openContext(options: { quick: boolean; log: (line: string) => void; pgbenchVersion: string | null }): Promise<BenchContext> {
  const fromEnv = process.env[BENCH_URL_ENV];
  let url: string;
  let source: string;
  let stopServer: () => Promise<void> = async () => {};
  if (fromEnv) {
    url = fromEnv;
    source = `${BENCH_URL_ENV} (a server you run; settings below are read from it)`;
  } else {
    // The benchmark's own server: never the test suite's DEV_NEXUS_TEST_DATABASE_URL.
    const saved = process.env.DEV_NEXUS_TEST_DATABASE_URL;
    delete process.env.DEV_NEXUS_TEST_DATABASE_URL;
    try {
      const server = await startTestPostgres((line) => options.log(line));
      url = server.url;
      source = server.description;
      stopServer = () => server.stop();
    } finally {
      if (saved !== undefined) process.env.DEV_NEXUS_TEST_DATABASE_URL = saved;
    }
  }
  const admin = new pg.Pool({ connectionString: url, max: 4, application_name: 'dev-nexus-bench-admin' });
  admin.on('error', () => {});
  const cleanups: (() => Promise<void>)[] = [];
  const suffix = randomBytes(3).toString('hex');

  const settings: Record<string, string> = {};
  for (const name of SETTINGS) {
    const { rows } = await admin.query(`SELECT current_setting($1, true) AS v`, [name]);
    settings[name] = String(rows[0]?.v ?? '');
  }
  const { rows: versionRows } = await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  const { rows: pidRows } = await admin.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  const serverCpu = ServerCpu.fromBackendPid(Number(pidRows[0]?.pid));
  const durable = settings.fsync === 'on' && settings.synchronous_commit !== 'off';
  const cpuList = cpus();
  const conditions: Conditions = {
    date: new Date().toISOString(),
    source,
    serverVersion: String(versionRows[0]?.v ?? ''),
    settings,
    durability: durable
      ? `durable commits (fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit})`
      : `NOT durable: fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, full_page_writes=${settings.full_page_writes} (a throwaway test server; commits do not wait for disk, so absolute figures are higher than on a durable server; ratios compare like with like because pgbench and the baseline run on the same server)`,
    cpuCount: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    node: process.version,
    nodePostgres: readPgVersion(),
    pgbench: options.pgbenchVersion,
    serverCpuAccounting: serverCpu !== null,
  };

  const parsed = new URL(url);
  return {
    url,
    admin,
    quick: options.quick,
    serverCpu,
    conditions,
    async newSchema(label: string) {
      const schema = `bench_${label}_${suffix}`;
      await admin.query(renderClaimAuthoritySchemaSql(schema));
      cleanups.push(async () => {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      });
      return schema;
    },
    libpqEnv(database?: string) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
      env.PGHOST = parsed.searchParams.get('host') ?? parsed.hostname.replace(/^\[|\]$/g, '');
      env.PGPORT = parsed.port || '5432';
      env.PGUSER = decodeURIComponent(parsed.username);
      if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
      env.PGDATABASE = database ?? decodeURIComponent(parsed.pathname.replace(/^\//, ''));
      const sslmode = parsed.searchParams.get('sslmode');
      if (sslmode) env.PGSSLMODE = sslmode;
      env.PGAPPNAME = 'dev-nexus-bench-pgbench';
      return env;
    },
    urlFor(database: string) {
      const other = new URL(url);
      other.pathname = `/${encodeURIComponent(database)}`;
      return other.toString();
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    async close() {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (error) {
          options.log(`cleanup step failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        }
      }
      await admin.end();
      await stopServer();
    },
  };
}

function readPgVersion(): string {
  try {
    return String((createRequire(import.meta.url)('pg/package.json') as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}
