// The named SQL statements of the claim authority, readable top to bottom.
//
// Rules (see shared design, "Claim semantics"):
// - Every lease check sits in the WHERE of the statement that writes; the database clock
//   (clock_timestamp(), not now(): now() is the transaction start) decides expiry.
// - Claim, heartbeat and release are one statement each on the success path, the audit
//   event appended by a data-modifying CTE.
// - A statement that loses an ON CONFLICT race does not see the winner's row in its own
//   snapshot; the authority reads the holder with a second statement (`readClaim`).
// - Lease tokens arrive as SHA-256 hashes ($4); the token itself never reaches the server.
import { createHash } from 'node:crypto';
import { quoteIdentifier } from './schema.js';
import type { SqlStatement } from './sql-client.js';

/** Database times in one fixed ISO format with microseconds: string order is time order. */
function iso(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function recordColumns(c: string): string {
  return [
    `${c}.project_id`, `${c}.tracker_id`, `${c}.work_item_id`, `${c}.fencing_token`, `${c}.state`,
    `${c}.host_id`, `${c}.agent_id`, `${c}.owner_id`,
    `${iso(`${c}.claimed_at`)} AS claimed_at`, `${iso(`${c}.expires_at`)} AS expires_at`,
    `${iso(`${c}.last_heartbeat_at`)} AS last_heartbeat_at`, `${c}.heartbeat_count`,
    `${iso(`${c}.released_at`)} AS released_at`, `${c}.released_by`,
    `${c}.reclaimed_from_fencing_token`, `${c}.reclaimed_from_host_id`, `${c}.reclaimed_from_agent_id`, `${c}.reclaimed_from_owner_id`,
    `${c}.metadata`, `${iso(`${c}.created_at`)} AS created_at`, `${iso(`${c}.updated_at`)} AS updated_at`,
  ].join(', ');
}

const DB_NOW = `${iso('clock_timestamp()')} AS db_now`;
const ITEM = 'c.project_id = $1 AND c.tracker_id = $2 AND c.work_item_id = $3';

function eventInsert(s: string, from: string, kind: string, at: string, expiresAt: string): string {
  return `INSERT INTO ${s}.work_item_claim_events
      (project_id, tracker_id, work_item_id, kind, fencing_token, host_id, agent_id, owner_id, at, expires_at, reclaimed_from_fencing_token, released_by)
    SELECT project_id, tracker_id, work_item_id, ${kind}, fencing_token, host_id, agent_id, owner_id, ${at}, ${expiresAt}, reclaimed_from_fencing_token, released_by
    FROM ${from}`;
}

/**
 * Claim: insert the first grant, or take over a released or expired claim with the next
 * fencing token. $1-$3 identity, $4 lease hash, $5 host, $6 agent, $7 owner, $8 lease ms, $9 metadata.
 * Returns no row when the item is held by a live claim.
 */
function claimSql(s: string): string {
  return `WITH granted AS (
  INSERT INTO ${s}.work_item_claims AS c
    (project_id, tracker_id, work_item_id, fencing_token, state, lease_token_sha256, host_id, agent_id, owner_id,
     claimed_at, expires_at, heartbeat_count, metadata, created_at, updated_at)
  VALUES ($1, $2, $3, 1, 'active', $4, $5, $6, $7,
     clock_timestamp(), clock_timestamp() + $8::bigint * interval '1 millisecond', 0, $9::jsonb, clock_timestamp(), clock_timestamp())
  ON CONFLICT (project_id, tracker_id, work_item_id) DO UPDATE SET
    fencing_token = c.fencing_token + 1,
    state = 'active',
    lease_token_sha256 = excluded.lease_token_sha256,
    host_id = excluded.host_id,
    agent_id = excluded.agent_id,
    owner_id = excluded.owner_id,
    -- Evaluated after the row lock and after the WHERE below, so a takeover never starts
    -- before the previous lease ended.
    claimed_at = clock_timestamp(),
    expires_at = clock_timestamp() + $8::bigint * interval '1 millisecond',
    last_heartbeat_at = NULL,
    heartbeat_count = 0,
    released_at = NULL,
    released_by = NULL,
    reclaimed_from_fencing_token = CASE WHEN c.state = 'active' THEN c.fencing_token END,
    reclaimed_from_host_id = CASE WHEN c.state = 'active' THEN c.host_id END,
    reclaimed_from_agent_id = CASE WHEN c.state = 'active' THEN c.agent_id END,
    reclaimed_from_owner_id = CASE WHEN c.state = 'active' THEN c.owner_id END,
    metadata = excluded.metadata,
    updated_at = clock_timestamp()
  WHERE c.state = 'released' OR c.expires_at <= clock_timestamp()
  RETURNING c.*
), event AS (
  ${eventInsert(s, 'granted', `CASE WHEN reclaimed_from_fencing_token IS NULL THEN 'granted' ELSE 'reclaimed' END`, 'claimed_at', 'expires_at')}
)
SELECT ${recordColumns('granted')}, ${DB_NOW} FROM granted`;
}

/**
 * Heartbeat: renew a live claim for $6 ms from now. $4 lease hash, $5 fencing token or null.
 * The check and the write read the clock microseconds apart under the row lock; the
 * recorded heartbeat time is clamped into the lease that the WHERE found live.
 */
function heartbeatSql(s: string): string {
  return `WITH renewed AS (
  UPDATE ${s}.work_item_claims AS c SET
    expires_at = clock_timestamp() + $6::bigint * interval '1 millisecond',
    last_heartbeat_at = LEAST(clock_timestamp(), c.expires_at),
    heartbeat_count = c.heartbeat_count + 1,
    updated_at = clock_timestamp()
  WHERE ${ITEM} AND c.lease_token_sha256 = $4 AND ($5::bigint IS NULL OR c.fencing_token = $5::bigint)
    AND c.state = 'active' AND c.expires_at > clock_timestamp()
  RETURNING c.*
), event AS (
  ${eventInsert(s, 'renewed', `'heartbeat'`, 'last_heartbeat_at', 'expires_at')}
)
SELECT ${recordColumns('renewed')}, ${DB_NOW} FROM renewed`;
}

/** Release a live claim. $4 lease hash, $5 fencing token or null, $6 released by. */
function releaseSql(s: string): string {
  return `WITH released AS (
  UPDATE ${s}.work_item_claims AS c SET
    state = 'released',
    released_at = LEAST(clock_timestamp(), c.expires_at),
    released_by = $6,
    updated_at = clock_timestamp()
  WHERE ${ITEM} AND c.lease_token_sha256 = $4 AND ($5::bigint IS NULL OR c.fencing_token = $5::bigint)
    AND c.state = 'active' AND c.expires_at > clock_timestamp()
  RETURNING c.*
), event AS (
  ${eventInsert(s, 'released', `'released'`, 'released_at', 'NULL::timestamptz')}
)
SELECT ${recordColumns('released')}, ${DB_NOW} FROM released`;
}

/**
 * Read one claim and judge the caller's proof at database time: the verdict of verify, and
 * the reason a heartbeat or release was refused. $4 lease hash, $5 fencing token or null.
 */
function readClaimSql(s: string): string {
  return `SELECT ${iso('n.at')} AS db_now, ${recordColumns('c')},
  CASE
    WHEN c.project_id IS NULL THEN 'missing'
    WHEN c.lease_token_sha256 <> $4 THEN 'token_mismatch'
    WHEN $5::bigint IS NOT NULL AND c.fencing_token <> $5::bigint THEN 'fencing_token_mismatch'
    WHEN c.state = 'released' THEN 'released'
    WHEN c.expires_at <= n.at THEN 'expired'
    ELSE 'verified'
  END AS verdict,
  coalesce(c.state = 'active' AND c.expires_at > n.at, false) AS live
FROM (SELECT clock_timestamp() AS at) AS n
LEFT JOIN ${s}.work_item_claims AS c ON ${ITEM}`;
}

/** Claims of a project judged at one database instant. $1 project, $2 tracker or null, $3 limit, $4 work item ids or null. Always one row (db_now). */
function inspectSql(s: string): string {
  return `SELECT ${iso('n.at')} AS db_now, ${recordColumns('c')},
  CASE WHEN c.state = 'released' THEN 'released' WHEN c.expires_at > n.at THEN 'active' ELSE 'stale' END AS status
FROM (SELECT clock_timestamp() AS at) AS n
LEFT JOIN LATERAL (
  SELECT * FROM ${s}.work_item_claims AS w
  WHERE w.project_id = $1 AND ($2::text IS NULL OR w.tracker_id = $2::text)
    AND ($4::text[] IS NULL OR w.work_item_id = ANY($4::text[]))
  ORDER BY w.updated_at DESC
  LIMIT $3::integer
) AS c ON true`;
}

/** The audit log of a project, in event order. $1 project, $2 tracker or null. */
function eventsSql(s: string): string {
  return `SELECT e.event_id, e.project_id, e.tracker_id, e.work_item_id, e.kind, e.fencing_token,
  e.host_id, e.agent_id, e.owner_id, ${iso('e.at')} AS at, ${iso('e.expires_at')} AS expires_at
FROM ${s}.work_item_claim_events AS e
WHERE e.project_id = $1 AND ($2::text IS NULL OR e.tracker_id = $2::text)
ORDER BY e.event_id`;
}

function schemaVersionSql(s: string): string {
  return `SELECT max(version) AS version FROM ${s}.schema_version`;
}

export type ClaimStatements = Record<
  'claim' | 'heartbeat' | 'release' | 'readClaim' | 'inspect' | 'events' | 'schemaVersion',
  SqlStatement
>;

function named(op: string, text: string): SqlStatement {
  // The name is derived from the text, so two schemas on one connection never collide.
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { name: `dev_nexus_${op}_${digest}`, text };
}

export function claimStatements(schema: string): ClaimStatements {
  const s = quoteIdentifier(schema);
  return {
    claim: named('claim', claimSql(s)),
    heartbeat: named('heartbeat', heartbeatSql(s)),
    release: named('release', releaseSql(s)),
    readClaim: named('read_claim', readClaimSql(s)),
    inspect: named('inspect', inspectSql(s)),
    events: named('events', eventsSql(s)),
    schemaVersion: named('schema_version', schemaVersionSql(s)),
  };
}
