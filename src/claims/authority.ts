import type {
  ClaimEvent,
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
} from './types.js';

export type ClaimAuthorityKind = 'postgres' | 'optimistic_tracker';

/**
 * The one interface every layer above claims/ is written against. Backends implement it;
 * expected outcomes come back as values, infrastructure failures as ClaimAuthorityError.
 */
export interface ClaimAuthority {
  readonly kind: ClaimAuthorityKind;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResult>;
  release(request: ReleaseRequest): Promise<ReleaseResult>;
  verify(proof: LeaseProof): Promise<VerifyResult>;
  inspect(filter: InspectFilter): Promise<InspectResult>;
  /** The append-only audit log, in event order, where the backend keeps one (postgres does). */
  events?(projectId: string, trackerId?: string): Promise<ClaimEvent[]>;
}
