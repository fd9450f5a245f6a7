// The claim domain: identity, owner, record, and the outcome unions every backend returns.
// Expected outcomes are values; infrastructure failures are ClaimAuthorityError (errors.ts).

/** What a claim is about. Component, repository and node ids are metadata, never identity. */
export interface ClaimIdentity {
  projectId: string;
  /** Stable across hosts and components: the local tracker's id, or a hosted tracker's provider and location. */
  trackerId: string;
  workItemId: string;
}

export interface ClaimOwner {
  hostId: string;
  agentId: string | null;
  ownerId: string;
}

export type ClaimState = 'active' | 'released';

/** A claim as stored by the authority. It never carries the lease token. Times are the database's, ISO 8601 with microseconds. */
export interface ClaimRecord {
  identity: ClaimIdentity;
  owner: ClaimOwner;
  fencingToken: number;
  state: ClaimState;
  claimedAt: string;
  expiresAt: string;
  lastHeartbeatAt: string | null;
  heartbeatCount: number;
  releasedAt: string | null;
  releasedBy: string | null;
  reclaimedFrom: ReclaimedFrom | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** The expired claim a reclaim took over. */
export interface ReclaimedFrom {
  fencingToken: number;
  owner: ClaimOwner;
}

export type RejectionReason = 'missing_claim' | 'token_mismatch' | 'fencing_token_mismatch' | 'expired' | 'released';

export type VerifyStatus = 'verified' | 'missing' | 'token_mismatch' | 'fencing_token_mismatch' | 'expired' | 'released';

export interface ClaimRequest {
  identity: ClaimIdentity;
  owner: ClaimOwner;
  /** A random UUID the caller chose before claiming; retrying with the same token after an ambiguous failure returns the caller's own claim. */
  leaseToken: string;
  leaseDurationMs: number;
  metadata?: Record<string, unknown>;
}

export interface LeaseProof {
  identity: ClaimIdentity;
  leaseToken: string;
  /** Optional for compatibility; when given, a claim with another fencing token is refused. */
  fencingToken?: number | null;
}

export interface HeartbeatRequest extends LeaseProof {
  leaseDurationMs: number;
}

export interface ReleaseRequest extends LeaseProof {
  /** Who released it (an owner id or an operator name), recorded for audit. */
  releasedBy?: string;
}

export type ClaimResult =
  | {
      status: 'claimed';
      claim: ClaimRecord;
      /** The caller's own lease token, echoed back to its owner only. */
      leaseToken: string;
      /** True when this was a retry that found the caller's own live claim (nothing was granted anew). */
      alreadyHeld: boolean;
      dbNow: string;
    }
  | {
      status: 'lost_race';
      /** The current holder's claim: fencing token, owner and expiry; never its lease token. */
      holder: ClaimRecord;
      dbNow: string;
    };

export type HeartbeatResult =
  | { status: 'heartbeat'; claim: ClaimRecord; dbNow: string }
  | { status: 'rejected'; reason: RejectionReason; current: ClaimRecord | null; dbNow: string };

export type ReleaseResult =
  | { status: 'released'; claim: ClaimRecord; alreadyReleased: boolean; dbNow: string }
  | { status: 'rejected'; reason: RejectionReason; current: ClaimRecord | null; dbNow: string };

export interface VerifyResult {
  status: VerifyStatus;
  claim: ClaimRecord | null;
  dbNow: string;
}

export interface InspectFilter {
  projectId: string;
  trackerId?: string;
  /** Only these work items (of trackerId). */
  workItemIds?: readonly string[];
  /** At most this many claims (default 1000), newest first. */
  limit?: number;
}

/** Claims judged at one database instant: active (unexpired), stale (expired, not reclaimed) and released. */
export interface InspectResult {
  dbNow: string;
  active: ClaimRecord[];
  stale: ClaimRecord[];
  released: ClaimRecord[];
}

export type ClaimEventKind = 'granted' | 'reclaimed' | 'heartbeat' | 'released';

/** One row of the append-only audit log. */
export interface ClaimEvent {
  eventId: number;
  identity: ClaimIdentity;
  kind: ClaimEventKind;
  fencingToken: number;
  owner: ClaimOwner;
  /** Database time of the grant, heartbeat or release. */
  at: string;
  /** The lease's expiry after this event (null for a release). */
  expiresAt: string | null;
}
