// The DDL of the claim authority and the grants of its runtime role. Every object is
// schema-qualified: nothing relies on search_path, so a mistyped schema fails loudly
// instead of falling back to public.
import { invalidInput } from '../errors.js';

export const DEFAULT_CLAIM_SCHEMA = 'dev_nexus';
/** Bumped whenever the DDL changes in a way the statements depend on. */
export const CLAIM_SCHEMA_VERSION = 1;

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A plain lower-case SQL identifier, not in the reserved pg_ namespace. Returns it double-quoted. */
export function quoteIdentifier(name: unknown, what = 'schema name'): string {
  if (typeof name !== 'string' || !PLAIN_IDENTIFIER.test(name) || name.startsWith('pg_')) {
    throw invalidInput(
      `${what} must be a plain lower-case SQL identifier (letters a-z, digits and _, starting with a letter or _, at most 63 characters, not starting with pg_), for example dev_nexus`,
    );
  }
  return `"${name}"`;
}

export function renderClaimAuthoritySchemaSql(schema: string = DEFAULT_CLAIM_SCHEMA): string {
  const s = quoteIdentifier(schema);
  return `-- dev-nexus claim authority, schema version ${CLAIM_SCHEMA_VERSION}. Safe to apply more than once.
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE TABLE IF NOT EXISTS ${s}.schema_version (
  version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per claim identity; rows are never deleted by routine commands, so the
-- fencing token (one increment per grant) never goes back.
CREATE TABLE IF NOT EXISTS ${s}.work_item_claims (
  project_id text NOT NULL,
  tracker_id text NOT NULL,
  work_item_id text NOT NULL,
  fencing_token bigint NOT NULL CHECK (fencing_token > 0),
  state text NOT NULL CHECK (state IN ('active', 'released')),
  lease_token_sha256 bytea NOT NULL CHECK (octet_length(lease_token_sha256) = 32),
  host_id text NOT NULL,
  agent_id text,
  owner_id text NOT NULL,
  claimed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  last_heartbeat_at timestamptz,
  heartbeat_count integer NOT NULL DEFAULT 0,
  released_at timestamptz,
  released_by text,
  reclaimed_from_fencing_token bigint,
  reclaimed_from_host_id text,
  reclaimed_from_agent_id text,
  reclaimed_from_owner_id text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project_id, tracker_id, work_item_id)
) WITH (fillfactor = 80);
-- No index beyond the key: heartbeats and releases then update rows in place (HOT), and the
-- 20% free space per page leaves room for it, so the table does not bloat with renewals.

-- Append-only audit log: every grant, reclaim, heartbeat and release.
CREATE TABLE IF NOT EXISTS ${s}.work_item_claim_events (
  event_id bigserial PRIMARY KEY,
  project_id text NOT NULL,
  tracker_id text NOT NULL,
  work_item_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('granted', 'reclaimed', 'heartbeat', 'released')),
  fencing_token bigint NOT NULL,
  host_id text NOT NULL,
  agent_id text,
  owner_id text NOT NULL,
  at timestamptz NOT NULL,
  expires_at timestamptz,
  reclaimed_from_fencing_token bigint,
  released_by text
);

CREATE INDEX IF NOT EXISTS work_item_claim_events_item_idx
  ON ${s}.work_item_claim_events (project_id, tracker_id, work_item_id, event_id);

CREATE OR REPLACE FUNCTION ${s}.refuse_event_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'work_item_claim_events is append-only';
END;
$$;

DROP TRIGGER IF EXISTS work_item_claim_events_append_only ON ${s}.work_item_claim_events;
CREATE TRIGGER work_item_claim_events_append_only
  BEFORE UPDATE OR DELETE ON ${s}.work_item_claim_events
  FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_event_change();

INSERT INTO ${s}.schema_version (version) VALUES (${CLAIM_SCHEMA_VERSION}) ON CONFLICT (version) DO NOTHING;
`;
}

/** Grants for the runtime role: only the DML the authority runs. No DDL, no DELETE, no event updates. */
export function renderClaimAuthorityGrantSql(role: string, schema: string = DEFAULT_CLAIM_SCHEMA): string {
  const s = quoteIdentifier(schema);
  const r = quoteIdentifier(role, 'role name');
  return `-- Runtime role for dev-nexus claims in schema ${schema}: DML only.
GRANT USAGE ON SCHEMA ${s} TO ${r};
GRANT SELECT ON ${s}.schema_version TO ${r};
GRANT SELECT, INSERT, UPDATE ON ${s}.work_item_claims TO ${r};
GRANT SELECT, INSERT ON ${s}.work_item_claim_events TO ${r};
GRANT USAGE ON SEQUENCE ${s}.work_item_claim_events_event_id_seq TO ${r};
`;
}

/** The DDL for the default schema dev_nexus, for tooling that applies schema under an operator workflow. */
export const nexusPostgresClaimAuthoritySchemaSql: string = renderClaimAuthoritySchemaSql(DEFAULT_CLAIM_SCHEMA);
