// Readiness of the configured claim authority: the model behind `automation status`.
// When postgres is configured but not ready, claiming is blocked: never a silent fallback.
import { CLAIM_SCHEMA_VERSION } from '../claims/postgres/schema.js';
import { detectNodePostgres, type NodePostgresAvailability } from '../claims/postgres/node-postgres.js';
import { findProfile, loadHomeConfig, type ClaimAuthorityProfile } from '../config/home.js';
import type { ClaimBackend } from '../config/project.js';
import type { Workspace } from './workspace.js';

export type BlockerCode =
  | 'claims_disabled'
  | 'profile_not_configured'
  | 'profile_missing'
  | 'connection_string_env_missing'
  | 'adapter_unavailable'
  | 'database_unreachable'
  | 'schema_missing'
  | 'schema_version_mismatch'
  | 'permission_denied';

export interface Blocker {
  code: BlockerCode;
  message: string;
}

export interface ConnectionCheck {
  reachable: boolean;
  schemaVersion: number | null;
  expectedSchemaVersion: number;
  error: { code: string; message: string } | null;
}

export interface ClaimReadiness {
  enabled: boolean;
  backend: ClaimBackend;
  postgresProfileId: string | null;
  homeFile: string;
  profileExists: boolean | null;
  connectionStringEnv: string | null;
  connectionStringEnvPresent: boolean | null;
  adapter: 'node_postgres' | null;
  adapterAvailable: boolean | null;
  schema: string | null;
  /** Present when the connection was checked (--check-connection, and before every postgres claim). */
  connection: ConnectionCheck | null;
  ready: boolean;
  blockers: Blocker[];
}

/** What readiness found that opening the authority needs; the secret never leaves this pair. */
export interface ReadinessFindings {
  readiness: ClaimReadiness;
  profile: ClaimAuthorityProfile | null;
  connectionString: string | null;
}

export interface ReadinessDeps {
  detectAdapter: () => Promise<NodePostgresAvailability>;
}

export const defaultReadinessDeps: ReadinessDeps = { detectAdapter: detectNodePostgres };

/** Everything that can be known without a database round trip. */
export async function staticReadiness(workspace: Workspace, deps: ReadinessDeps = defaultReadinessDeps): Promise<ReadinessFindings> {
  const claims = workspace.project.automation.workItemClaims;
  const backend = claims.authority.backend;
  const home = await loadHomeConfig(workspace.homeDir);
  const readiness: ClaimReadiness = {
    enabled: claims.enabled,
    backend,
    postgresProfileId: claims.authority.postgres?.connectionProfileId ?? null,
    homeFile: home.file,
    profileExists: null,
    connectionStringEnv: null,
    connectionStringEnvPresent: null,
    adapter: null,
    adapterAvailable: null,
    schema: null,
    connection: null,
    ready: false,
    blockers: [],
  };
  const block = (code: BlockerCode, message: string) => readiness.blockers.push({ code, message });
  if (!claims.enabled) {
    block('claims_disabled', `work-item claims are disabled; set automation.workItemClaims.enabled to true in ${workspace.projectFile}`);
  }
  let profile: ClaimAuthorityProfile | null = null;
  let connectionString: string | null = null;
  if (backend === 'postgres') {
    const profileId = readiness.postgresProfileId;
    profile = profileId ? (findProfile(home.config, profileId) ?? null) : null;
    readiness.profileExists = profile !== null;
    readiness.adapter = 'node_postgres';
    if (!profileId) {
      block('profile_not_configured', `set automation.workItemClaims.authority.postgres.connectionProfileId in ${workspace.projectFile}`);
    } else if (!profile) {
      block('profile_missing', `this host has no claim authority profile "${profileId}" in ${home.file}; add it with: dev-nexus init <workspace-root> --home ${workspace.homeDir} --profile ${profileId}`);
    }
    if (profile) {
      readiness.connectionStringEnv = profile.connectionStringEnv;
      readiness.schema = profile.schema;
      connectionString = workspace.env[profile.connectionStringEnv] || null;
      readiness.connectionStringEnvPresent = connectionString !== null;
      if (!connectionString) {
        block('connection_string_env_missing', `environment variable ${profile.connectionStringEnv} (profile "${profile.id}") is not set on this host; export it with the PostgreSQL connection string`);
      }
    }
    const adapter = await deps.detectAdapter();
    readiness.adapterAvailable = adapter.available;
    if (!adapter.available) block('adapter_unavailable', adapter.reason ?? 'the node_postgres adapter is not available; run `npm install pg`');
  }
  readiness.ready = readiness.blockers.length === 0;
  return { readiness, profile, connectionString };
}

export function expectedSchemaVersion(): number {
  return CLAIM_SCHEMA_VERSION;
}
