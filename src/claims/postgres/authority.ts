// The PostgreSQL claim authority: the statements in statements.ts run through a SqlClient.
// Decisions live in SQL; this module hashes lease tokens, maps rows to records, names the
// reason of a refusal with one extra read, and retries what is safe to retry.
import { createHash } from 'node:crypto';
import type { ClaimAuthority } from '../authority.js';
import { ClaimAuthorityError } from '../errors.js';
import type {
  ClaimEvent,
  ClaimEventKind,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  HeartbeatRequest,
  HeartbeatResult,
  InspectFilter,
  InspectResult,
  LeaseProof,
  RejectionReason,
  ReleaseRequest,
  ReleaseResult,
  VerifyResult,
  VerifyStatus,
} from '../types.js';
import { checkIdentity, checkLeaseDuration, checkOwner, checkProof } from '../validate.js';
import { CLAIM_SCHEMA_VERSION, DEFAULT_CLAIM_SCHEMA } from './schema.js';
import type { SqlClient, SqlRow } from './sql-client.js';
import { claimStatements, type ClaimStatements } from './statements.js';

export interface PostgresClaimAuthorityOptions {
  client: SqlClient;
  /** Validated plain identifier; default dev_nexus. */
  schema?: string;
  /**
   * How often one operation re-runs after a serialization failure or a claim whose holder
   * vanished between the statement and the read (each re-run is one more round trip). Default 5.
   */
  maxAttempts?: number;
}

type Verdict = VerifyStatus;

export function hashLeaseToken(leaseToken: string): Buffer {
  return createHash('sha256').update(leaseToken, 'utf8').digest();
}

export class PostgresClaimAuthority implements ClaimAuthority {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly client: SqlClient;
  // Protected so a test can build deliberately broken variants (mutants) from the same statements.
  protected sql: ClaimStatements;
  private readonly maxAttempts: number;

  constructor(options: PostgresClaimAuthorityOptions) {
    this.client = options.client;
    this.schema = options.schema ?? DEFAULT_CLAIM_SCHEMA;
    this.sql = claimStatements(this.schema);
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isSafeInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new ClaimAuthorityError('invalid_input', 'maxAttempts must be a positive integer');
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    checkIdentity(request.identity);
    checkOwner(request.owner);
    checkProof({ identity: request.identity, leaseToken: request.leaseToken });
    checkLeaseDuration(request.leaseDurationMs);
    const { projectId, trackerId, workItemId } = request.identity;
    const hash = hashLeaseToken(request.leaseToken);
    const { hostId, agentId, ownerId } = request.owner;
    const metadata = JSON.stringify(request.metadata ?? {});

    for (let attempt = 1; ; attempt += 1) {
      const granted = await this.run(this.sql.claim, [
        projectId, trackerId, workItemId, hash, hostId, agentId, ownerId, request.leaseDurationMs, metadata,
      ]);
      if (granted[0]) {
        return { status: 'claimed', claim: toRecord(granted[0]), leaseToken: request.leaseToken, alreadyHeld: false, dbNow: text(granted[0].db_now) };
      }
      // Held by a live claim, as of the statement's snapshot: read who holds it now.
      const current = await this.readClaim({ identity: request.identity, leaseToken: request.leaseToken });
      if (current.row && current.verdict === 'verified') {
        // Our own live claim: a retry after an ambiguous commit.
        return { status: 'claimed', claim: toRecord(current.row), leaseToken: request.leaseToken, alreadyHeld: true, dbNow: current.dbNow };
      }
      if (current.row && current.verdict === 'token_mismatch' && current.live) {
        return { status: 'lost_race', holder: toRecord(current.row), dbNow: current.dbNow };
      }
      // The holder released or expired in between: claim again, a bounded number of times.
      if (attempt >= this.maxAttempts) {
        throw new ClaimAuthorityError(
          'serialization_failure',
          `claim of work item ${workItemId} kept changing hands for ${attempt} attempts; retry the claim with the same lease token`,
        );
      }
    }
  }

  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatResult> {
    checkProof(request);
    checkLeaseDuration(request.leaseDurationMs);
    const rows = await this.run(this.sql.heartbeat, [...this.proofValues(request), request.leaseDurationMs]);
    if (rows[0]) return { status: 'heartbeat', claim: toRecord(rows[0]), dbNow: text(rows[0].db_now) };
    const current = await this.readClaim(request);
    return { status: 'rejected', reason: rejectionReason(current.verdict), current: current.row ? toRecord(current.row) : null, dbNow: current.dbNow };
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    checkProof(request);
    const releasedBy = request.releasedBy ?? null;
    const rows = await this.run(this.sql.release, [...this.proofValues(request), releasedBy]);
    if (rows[0]) return { status: 'released', claim: toRecord(rows[0]), alreadyReleased: false, dbNow: text(rows[0].db_now) };
    const current = await this.readClaim(request);
    if (current.row && current.verdict === 'released') {
      // Released before by this same lease (the verdict checks the token): idempotent.
      return { status: 'released', claim: toRecord(current.row), alreadyReleased: true, dbNow: current.dbNow };
    }
    return { status: 'rejected', reason: rejectionReason(current.verdict), current: current.row ? toRecord(current.row) : null, dbNow: current.dbNow };
  }

  async verify(proof: LeaseProof): Promise<VerifyResult> {
    checkProof(proof);
    const current = await this.readClaim(proof);
    return { status: current.verdict, claim: current.row ? toRecord(current.row) : null, dbNow: current.dbNow };
  }

  async inspect(filter: InspectFilter): Promise<InspectResult> {
    checkIdentity({ projectId: filter.projectId, trackerId: filter.trackerId ?? '-', workItemId: '-' });
    const limit = filter.limit ?? 1000;
    const ids = filter.workItemIds ? [...filter.workItemIds] : null;
    const rows = await this.run(this.sql.inspect, [filter.projectId, filter.trackerId ?? null, ids ? Math.max(limit, ids.length) : limit, ids]);
    const result: InspectResult = { dbNow: text(rows[0]?.db_now), active: [], stale: [], released: [] };
    for (const row of rows) {
      if (row.project_id === null || row.project_id === undefined) continue;
      result[row.status as 'active' | 'stale' | 'released'].push(toRecord(row));
    }
    return result;
  }

  /** The audit log of a project (optionally one tracker), in event order, for the audit checker. */
  async events(projectId: string, trackerId?: string): Promise<ClaimEvent[]> {
    const rows = await this.run(this.sql.events, [projectId, trackerId ?? null]);
    return rows.map(toEvent);
  }

  /** The schema version recorded by the DDL; refuses a missing or different one with a code. */
  async checkSchema(): Promise<{ version: number }> {
    const rows = await this.run(this.sql.schemaVersion, []);
    const version = Number(rows[0]?.version ?? 0);
    if (version !== CLAIM_SCHEMA_VERSION) {
      throw new ClaimAuthorityError(
        'schema_version_mismatch',
        `claim schema ${this.schema} is at version ${version || 'none'}, this dev-nexus needs version ${CLAIM_SCHEMA_VERSION}; apply the DDL from \`dev-nexus claims schema-sql --schema ${this.schema}\``,
      );
    }
    return { version };
  }

  private proofValues(proof: LeaseProof): unknown[] {
    const { projectId, trackerId, workItemId } = proof.identity;
    return [projectId, trackerId, workItemId, hashLeaseToken(proof.leaseToken), proof.fencingToken ?? null];
  }

  private async readClaim(proof: LeaseProof): Promise<{ row: SqlRow | undefined; verdict: Verdict; live: boolean; dbNow: string }> {
    const [row] = await this.run(this.sql.readClaim, this.proofValues(proof));
    const verdict = (row?.verdict ?? 'missing') as Verdict;
    return { row: verdict === 'missing' ? undefined : row, verdict, live: row?.live === true, dbNow: text(row?.db_now) };
  }

  /** One statement; serialization failures (a server default isolation above READ COMMITTED) are re-run. */
  private async run(statement: { name: string; text: string }, values: readonly unknown[]): Promise<SqlRow[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.client.query(statement, values);
      } catch (error) {
        const retryable = error instanceof ClaimAuthorityError && error.code === 'serialization_failure';
        if (!retryable || attempt >= this.maxAttempts) throw asClaimError(error);
      }
    }
  }
}

function rejectionReason(verdict: Verdict): RejectionReason {
  if (verdict === 'missing') return 'missing_claim';
  if (verdict === 'verified') {
    // The write found no live claim but the read did: the claim changed between them.
    throw new ClaimAuthorityError('serialization_failure', 'the claim changed while it was being renewed or released; retry with the same lease token');
  }
  return verdict;
}

function asClaimError(error: unknown): ClaimAuthorityError {
  if (error instanceof ClaimAuthorityError) return error;
  return new ClaimAuthorityError('query_failed', 'the claim statement failed for an unexpected reason; check the database logs and retry');
}

function text(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function int(value: unknown): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ClaimAuthorityError('query_failed', `the database returned ${String(value)} where an integer was expected; check the claim schema version`);
  return n;
}

export function toRecord(row: SqlRow): ClaimRecord {
  const reclaimed = row.reclaimed_from_fencing_token;
  return {
    identity: { projectId: text(row.project_id), trackerId: text(row.tracker_id), workItemId: text(row.work_item_id) },
    owner: { hostId: text(row.host_id), agentId: nullableText(row.agent_id), ownerId: text(row.owner_id) },
    fencingToken: int(row.fencing_token),
    state: row.state === 'released' ? 'released' : 'active',
    claimedAt: text(row.claimed_at),
    expiresAt: text(row.expires_at),
    lastHeartbeatAt: nullableText(row.last_heartbeat_at),
    heartbeatCount: int(row.heartbeat_count ?? 0),
    releasedAt: nullableText(row.released_at),
    releasedBy: nullableText(row.released_by),
    reclaimedFrom:
      reclaimed === null || reclaimed === undefined
        ? null
        : {
            fencingToken: int(reclaimed),
            owner: { hostId: text(row.reclaimed_from_host_id), agentId: nullableText(row.reclaimed_from_agent_id), ownerId: text(row.reclaimed_from_owner_id) },
          },
    metadata: (row.metadata as Record<string, unknown> | null) ?? {},
    createdAt: text(row.created_at),
    updatedAt: text(row.updated_at),
  };
}

function toEvent(row: SqlRow): ClaimEvent {
  return {
    eventId: int(row.event_id),
    identity: { projectId: text(row.project_id), trackerId: text(row.tracker_id), workItemId: text(row.work_item_id) },
    kind: row.kind as ClaimEventKind,
    fencingToken: int(row.fencing_token),
    owner: { hostId: text(row.host_id), agentId: nullableText(row.agent_id), ownerId: text(row.owner_id) },
    at: text(row.at),
    expiresAt: nullableText(row.expires_at),
  };
}
