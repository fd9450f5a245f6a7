// The optimistic_tracker authority: claim metadata written on the work item itself through a
// compare-and-set on the item's revision. Adequate when one coordinator serialises claim
// acquisition. Unlike the PostgreSQL authority it judges expiry on THIS host's clock, and it
// keeps no audit log: do not use it with several coordinator hosts.
import { createHash } from 'node:crypto';
import type { ClaimAuthority } from '../authority.js';
import { ClaimAuthorityError, invalidInput } from '../errors.js';
import type {
  ClaimIdentity,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  HeartbeatRequest,
  HeartbeatResult,
  InspectFilter,
  InspectResult,
  LeaseProof,
  ReleaseRequest,
  ReleaseResult,
  VerifyResult,
  VerifyStatus,
} from '../types.js';
import { checkIdentity, checkLeaseDuration, checkOwner, checkProof } from '../validate.js';

/** The claim as stored on the work item (JSON). Holds a hash of the lease token, never the token. */
export interface StoredTrackerClaim {
  backend: 'optimistic_tracker';
  record: ClaimRecord;
  leaseTokenSha256: string;
}

export interface TrackerClaimSlot {
  revision: number;
  claim: StoredTrackerClaim | null;
}

/** What this authority needs from a work tracker: read an item's claim, and compare-and-set it. */
export interface TrackerClaimStore {
  readonly projectId: string;
  readonly trackerId: string;
  /** null when the work item does not exist. */
  read(workItemId: string): Promise<TrackerClaimSlot | null>;
  /** Writes only if the item is still at `expectedRevision`; false when another writer got there first. */
  write(workItemId: string, expectedRevision: number, claim: StoredTrackerClaim): Promise<boolean>;
  list(): Promise<{ workItemId: string; claim: StoredTrackerClaim | null }[]>;
}

export interface TrackerClaimAuthorityOptions {
  store: TrackerClaimStore;
  /** This host's clock. */
  now?: () => Date;
  /** Compare-and-set attempts before giving up with serialization_failure. Default 5. */
  maxAttempts?: number;
}

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
// The same fixed format as the PostgreSQL authority (microseconds), so records compare alike.
const iso = (date: Date) => date.toISOString().replace('Z', '000Z');

export class TrackerClaimAuthority implements ClaimAuthority {
  readonly kind = 'optimistic_tracker' as const;
  private readonly store: TrackerClaimStore;
  private readonly now: () => Date;
  private readonly maxAttempts: number;

  constructor(options: TrackerClaimAuthorityOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    checkIdentity(request.identity);
    checkOwner(request.owner);
    checkProof({ identity: request.identity, leaseToken: request.leaseToken });
    checkLeaseDuration(request.leaseDurationMs);
    const hash = sha256(request.leaseToken);
    return this.withSlot<ClaimResult>(request.identity, async (slot, now) => {
      const current = slot.claim;
      if (current && this.live(current, now)) {
        if (current.leaseTokenSha256 === hash) {
          return { done: { status: 'claimed', claim: current.record, leaseToken: request.leaseToken, alreadyHeld: true, dbNow: iso(now) } };
        }
        return { done: { status: 'lost_race', holder: current.record, dbNow: iso(now) } };
      }
      const previous = current?.record;
      const at = iso(now);
      const record: ClaimRecord = {
        identity: request.identity,
        owner: request.owner,
        fencingToken: (previous?.fencingToken ?? 0) + 1,
        state: 'active',
        claimedAt: at,
        expiresAt: iso(new Date(now.getTime() + request.leaseDurationMs)),
        lastHeartbeatAt: null,
        heartbeatCount: 0,
        releasedAt: null,
        releasedBy: null,
        reclaimedFrom: previous && previous.state === 'active' ? { fencingToken: previous.fencingToken, owner: previous.owner } : null,
        metadata: request.metadata ?? {},
        createdAt: previous?.createdAt ?? at,
        updatedAt: at,
      };
      return {
        write: { backend: 'optimistic_tracker', record, leaseTokenSha256: hash },
        done: { status: 'claimed', claim: record, leaseToken: request.leaseToken, alreadyHeld: false, dbNow: at },
      };
    });
  }

  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatResult> {
    checkProof(request);
    checkLeaseDuration(request.leaseDurationMs);
    return this.withSlot<HeartbeatResult>(request.identity, async (slot, now) => {
      const verdict = this.judge(slot.claim, request, now);
      if (verdict !== 'verified') return { done: { status: 'rejected', reason: verdict === 'missing' ? 'missing_claim' : verdict, current: slot.claim?.record ?? null, dbNow: iso(now) } };
      const stored = slot.claim!;
      const at = iso(now);
      const record: ClaimRecord = {
        ...stored.record,
        expiresAt: iso(new Date(now.getTime() + request.leaseDurationMs)),
        lastHeartbeatAt: at,
        heartbeatCount: stored.record.heartbeatCount + 1,
        updatedAt: at,
      };
      return { write: { ...stored, record }, done: { status: 'heartbeat', claim: record, dbNow: at } };
    });
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    checkProof(request);
    return this.withSlot<ReleaseResult>(request.identity, async (slot, now) => {
      const verdict = this.judge(slot.claim, request, now);
      const at = iso(now);
      if (verdict === 'released') return { done: { status: 'released', claim: slot.claim!.record, alreadyReleased: true, dbNow: at } };
      if (verdict !== 'verified') return { done: { status: 'rejected', reason: verdict === 'missing' ? 'missing_claim' : verdict, current: slot.claim?.record ?? null, dbNow: at } };
      const stored = slot.claim!;
      const record: ClaimRecord = { ...stored.record, state: 'released', releasedAt: at, releasedBy: request.releasedBy ?? null, updatedAt: at };
      return { write: { ...stored, record }, done: { status: 'released', claim: record, alreadyReleased: false, dbNow: at } };
    });
  }

  async verify(proof: LeaseProof): Promise<VerifyResult> {
    checkProof(proof);
    const slot = await this.readSlot(proof.identity);
    const now = this.now();
    return { status: this.judge(slot.claim, proof, now), claim: slot.claim?.record ?? null, dbNow: iso(now) };
  }

  async inspect(filter: InspectFilter): Promise<InspectResult> {
    const now = this.now();
    const result: InspectResult = { dbNow: iso(now), active: [], stale: [], released: [] };
    if (filter.projectId !== this.store.projectId || (filter.trackerId && filter.trackerId !== this.store.trackerId)) return result;
    const wanted = filter.workItemIds ? new Set(filter.workItemIds) : null;
    for (const { workItemId, claim } of await this.store.list()) {
      if (!claim || (wanted && !wanted.has(workItemId))) continue;
      if (claim.record.state === 'released') result.released.push(claim.record);
      else if (this.live(claim, now)) result.active.push(claim.record);
      else result.stale.push(claim.record);
    }
    return result;
  }

  private live(claim: StoredTrackerClaim, now: Date): boolean {
    return claim.record.state === 'active' && Date.parse(claim.record.expiresAt) > now.getTime();
  }

  private judge(claim: StoredTrackerClaim | null, proof: LeaseProof, now: Date): VerifyStatus {
    if (!claim) return 'missing';
    if (claim.leaseTokenSha256 !== sha256(proof.leaseToken)) return 'token_mismatch';
    if (proof.fencingToken != null && claim.record.fencingToken !== proof.fencingToken) return 'fencing_token_mismatch';
    if (claim.record.state === 'released') return 'released';
    return this.live(claim, now) ? 'verified' : 'expired';
  }

  private async readSlot(identity: ClaimIdentity): Promise<TrackerClaimSlot> {
    checkIdentity(identity);
    if (identity.projectId !== this.store.projectId || identity.trackerId !== this.store.trackerId) {
      throw invalidInput(`this optimistic_tracker authority serves project ${this.store.projectId}, tracker ${this.store.trackerId}; select that tracker with --component/--tracker`);
    }
    const slot = await this.store.read(identity.workItemId);
    if (!slot) throw invalidInput(`no work item ${JSON.stringify(identity.workItemId)} in tracker ${identity.trackerId}; check the id with \`dev-nexus work-item list\``);
    return slot;
  }

  /** Read, decide, compare-and-set; on a lost compare-and-set, decide again on the new revision. */
  private async withSlot<T>(identity: ClaimIdentity, decide: (slot: TrackerClaimSlot, now: Date) => Promise<{ write?: StoredTrackerClaim; done: T }>): Promise<T> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      const slot = await this.readSlot(identity);
      const { write, done } = await decide(slot, this.now());
      if (!write || (await this.store.write(identity.workItemId, slot.revision, write))) return done;
    }
    throw new ClaimAuthorityError('serialization_failure', `work item ${identity.workItemId} kept changing while its claim was written (${this.maxAttempts} attempts); retry with the same lease token`);
  }
}
