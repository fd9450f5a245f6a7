// The one place that turns configuration into a claim authority. Everything above uses the
// ClaimAuthority interface; a postgres backend that is not ready yields `blocked`, never
// a fallback to optimistic_tracker.
import type { ClaimAuthority } from '../claims/authority.js';
import { ClaimAuthorityError } from '../claims/errors.js';
import { PostgresClaimAuthority } from '../claims/postgres/authority.js';
import { createNodePostgresClient, detectNodePostgres } from '../claims/postgres/node-postgres.js';
import { CLAIM_SCHEMA_VERSION } from '../claims/postgres/schema.js';
import type { SqlClient } from '../claims/postgres/sql-client.js';
import { TrackerClaimAuthority } from '../claims/tracker/authority.js';
import { staticReadiness, type BlockerCode, type ClaimReadiness, type ReadinessDeps } from './readiness.js';
import { trackerClaimStore } from './tracker-store.js';
import { openWorkspace, type Workspace, type WorkspaceOptions } from './workspace.js';

export type OpenedAuthority =
  | { ready: true; authority: ClaimAuthority; readiness: ClaimReadiness; close: () => Promise<void> }
  | { ready: false; readiness: ClaimReadiness; close: () => Promise<void> };

export interface AuthorityDeps extends ReadinessDeps {
  createClient: (connectionString: string) => Promise<SqlClient>;
}

export const defaultAuthorityDeps: AuthorityDeps = {
  detectAdapter: detectNodePostgres,
  // A CLI process makes a handful of statements: a small pool, the default timeouts.
  createClient: (connectionString) => createNodePostgresClient({ connectionString, maxConnections: 2 }),
};

const BLOCKER_FOR: Partial<Record<ClaimAuthorityError['code'], BlockerCode>> = {
  schema_missing: 'schema_missing',
  schema_version_mismatch: 'schema_version_mismatch',
  permission_denied: 'permission_denied',
};

/**
 * Open the configured authority. For postgres this also checks the connection and the schema
 * version (one round trip), so a missing database or schema blocks before anything is claimed.
 */
export async function openClaimAuthority(workspace: Workspace, deps: AuthorityDeps = defaultAuthorityDeps): Promise<OpenedAuthority> {
  const { readiness, profile, connectionString } = await staticReadiness(workspace, deps);
  const nothing = async () => {};
  if (!readiness.ready) return { ready: false, readiness, close: nothing };
  if (readiness.backend === 'optimistic_tracker') {
    const store = trackerClaimStore(workspace.project.projectId, workspace.tracker);
    return { ready: true, authority: new TrackerClaimAuthority({ store }), readiness, close: nothing };
  }
  const client = await deps.createClient(connectionString!);
  const authority = new PostgresClaimAuthority({ client, schema: profile!.schema });
  const close = () => client.close();
  try {
    const { version } = await authority.checkSchema();
    readiness.connection = { reachable: true, schemaVersion: version, expectedSchemaVersion: CLAIM_SCHEMA_VERSION, error: null };
  } catch (error) {
    await close();
    if (!(error instanceof ClaimAuthorityError)) throw error;
    const blocker = BLOCKER_FOR[error.code] ?? 'database_unreachable';
    readiness.connection = {
      reachable: blocker !== 'database_unreachable',
      schemaVersion: null,
      expectedSchemaVersion: CLAIM_SCHEMA_VERSION,
      error: { code: error.code, message: error.message },
    };
    readiness.blockers.push({ code: blocker, message: `PostgreSQL claim authority (profile "${profile!.id}", schema ${profile!.schema}): ${error.message}` });
    readiness.ready = false;
    return { ready: false, readiness, close: nothing };
  }
  return { ready: true, authority, readiness, close };
}

/** Readiness for `automation status`: static checks, and the connection when asked. */
export async function checkReadiness(workspace: Workspace, options: { checkConnection?: boolean } = {}, deps: AuthorityDeps = defaultAuthorityDeps): Promise<ClaimReadiness> {
  if (!options.checkConnection) return (await staticReadiness(workspace, deps)).readiness;
  const opened = await openClaimAuthority(workspace, deps);
  await opened.close();
  return opened.readiness;
}

/** What every use case returns instead of acting when the authority is not ready. */
export interface Blocked {
  status: 'blocked';
  reason: string;
  readiness: ClaimReadiness;
}

export type ReadyAuthority = Extract<OpenedAuthority, { ready: true }>;

/** Open the workspace and its authority, run `use`, and close the authority however it ends. */
export async function withClaimAuthority<T>(
  input: WorkspaceOptions,
  deps: AuthorityDeps,
  use: (opened: ReadyAuthority, workspace: Workspace) => Promise<T>,
): Promise<T | Blocked> {
  const workspace = await openWorkspace(input);
  const opened = await openClaimAuthority(workspace, deps);
  if (!opened.ready) return { status: 'blocked', reason: opened.readiness.blockers.map((b) => b.message).join('; '), readiness: opened.readiness };
  try {
    return await use(opened, workspace);
  } finally {
    await opened.close();
  }
}
