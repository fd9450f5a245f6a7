// The canary's own connection to the claim database, as an administrator: it creates the
// run's schema and runtime role, reads claim rows directly (not through the CLI), and holds
// the race gate. The runners never get this connection: they connect as the runtime role,
// which has only the DML the authority needs.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ClaimRow } from './assertions.js';
import { cliPath } from './paths.js';

export interface RuntimeRole {
  name: string;
  password: string;
}

export interface CanaryDatabase {
  schema: string;
  /** null when the administrator may not create roles: the runners then use the admin login. */
  role: RuntimeRole | null;
  /** One line for the log: what was set up. */
  description: string;
  readClaimRows(projectId: string, itemId: string): Promise<ClaimRow[]>;
  grantCounts(projectId: string): Promise<Map<string, number>>;
  openGate(): Promise<RaceGate>;
  /** Drop the schema and the role (a shared server outlives the run). Bounded; never throws. */
  drop(): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * The race gate: while the canary holds a SHARE lock on the claims table, the two runners'
 * claim statements (INSERT … ON CONFLICT) queue behind it, so both are in flight before either
 * commits. Without it, a runner that starts a few milliseconds late reads the winner's claim
 * in claim-next's candidate check and never reaches the claim statement at all.
 * The runners' lock_timeout (2 s by default) bounds how long the gate may stay shut.
 */
export interface RaceGate {
  /** Wait until `count` sessions wait for the claims table, bounded; returns how many did. */
  waitForWaiters(count: number, options: { firstWithinMs: number; restWithinMs: number }): Promise<{ waiters: number; ms: number }>;
  open(): Promise<void>;
}

export async function prepareDatabase(adminUrl: string, options: { runId: string; log: (line: string) => void }): Promise<CanaryDatabase> {
  const schema = `canary_${options.runId}`;
  const pool = new pg.Pool({ connectionString: adminUrl, max: 3, connectionTimeoutMillis: 10_000, statement_timeout: 30_000 });
  pool.on('error', () => {});
  let role: RuntimeRole | null = { name: `canary_rt_${options.runId}`, password: randomBytes(18).toString('hex') };
  let roleNote = `runners connect as the runtime role ${role.name} (DML grants only)`;
  try {
    await pool.query(`CREATE ROLE ${role.name} LOGIN PASSWORD '${role.password}'`);
  } catch (error) {
    roleNote = `runners connect with the administrator's login (creating a runtime role failed: ${(error as Error).message})`;
    role = null;
  }
  const ddl = await schemaSql(schema, role?.name ?? null);
  await pool.query(ddl);
  const claims = `"${schema}".work_item_claims`;
  const events = `"${schema}".work_item_claim_events`;

  return {
    schema,
    role,
    description: `schema ${schema} created from \`dev-nexus claims schema-sql\`; ${roleNote}`,
    async readClaimRows(projectId, itemId) {
      const { rows } = await pool.query<ClaimRow>(
        `SELECT state, fencing_token, host_id, released_at FROM ${claims} WHERE project_id = $1 AND work_item_id = $2`,
        [projectId, itemId],
      );
      return rows;
    },
    async grantCounts(projectId) {
      const { rows } = await pool.query<{ work_item_id: string; n: number }>(
        `SELECT work_item_id, count(*)::int AS n FROM ${events} WHERE project_id = $1 AND kind IN ('granted', 'reclaimed') GROUP BY work_item_id`,
        [projectId],
      );
      return new Map(rows.map((r) => [r.work_item_id, r.n]));
    },
    async openGate() {
      const holder = await pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SET LOCAL lock_timeout = '10s'`);
        await holder.query(`LOCK TABLE ${claims} IN SHARE MODE`);
      } catch (error) {
        await holder.query('ROLLBACK').catch(() => {});
        holder.release();
        throw error;
      }
      let opened = false;
      return {
        async waitForWaiters(count, { firstWithinMs, restWithinMs }) {
          const started = Date.now();
          let firstSeenAt: number | null = null;
          let waiters = 0;
          for (;;) {
            const { rows } = await pool.query<{ n: number }>(
              `SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE locktype = 'relation' AND relation = to_regclass($1) AND NOT granted`,
              [claims],
            );
            waiters = rows[0]?.n ?? 0;
            const now = Date.now();
            if (waiters > 0 && firstSeenAt === null) firstSeenAt = now;
            if (waiters >= count) break;
            if (firstSeenAt === null && now - started > firstWithinMs) break;
            if (firstSeenAt !== null && now - firstSeenAt > restWithinMs) break;
            await new Promise((r) => setTimeout(r, 5));
          }
          return { waiters, ms: Date.now() - started };
        },
        async open() {
          if (opened) return;
          opened = true;
          try {
            await holder.query('COMMIT');
          } finally {
            holder.release();
          }
        },
      };
    },
    async drop() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        if (role) {
          await pool.query(`DROP OWNED BY ${role.name}`);
          await pool.query(`DROP ROLE IF EXISTS ${role.name}`);
        }
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
    async close() {
      await pool.end().catch(() => {});
    },
  };
}

/** The DDL (and grants) exactly as operators get it: `dev-nexus claims schema-sql`. */
function schemaSql(schema: string, role: string | null): Promise<string> {
  const args = [cliPath, 'claims', 'schema-sql', '--schema', schema, ...(role ? ['--runtime-role', role] : ['--no-grants'])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`dev-nexus claims schema-sql failed: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}
