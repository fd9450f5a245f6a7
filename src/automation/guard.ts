// The worker guard: before a DevNexus-controlled worker action changes anything (worktree
// preparation, recording completion), prove that the launch's claim is still this owner's,
// by lease token AND fencing token, at the authority's time. A stale owner is refused with an
// error that says the claim was lost, why, and to whom: the holder's host, fencing token and
// expiry, never its lease token (a ClaimRecord never carries one).
import type { ClaimAuthority } from '../claims/authority.js';
import type { ClaimRecord, LeaseProof, RejectionReason, VerifyResult, VerifyStatus } from '../claims/types.js';
import type { AgentContext } from './context.js';
import { AutomationError } from './errors.js';

/** Who holds the item now, as far as a stale owner may know. */
export interface ClaimHolder {
  hostId: string;
  agentId: string | null;
  ownerId: string;
  fencingToken: number;
  state: ClaimRecord['state'];
  expiresAt: string;
}

export class ClaimLostError extends AutomationError {
  override readonly name = 'ClaimLostError';
  /** The authority's verdict (verify status or heartbeat/release rejection reason). */
  readonly status: VerifyStatus | RejectionReason;
  /** The current claim's holder when it is another grant than ours; null otherwise. */
  readonly holder: ClaimHolder | null;

  constructor(message: string, status: VerifyStatus | RejectionReason, holder: ClaimHolder | null) {
    super('claim_lost', message);
    this.status = status;
    this.holder = holder;
  }
}

/** The proof a guarded action presents: the owner's lease token and the grant's fencing token. */
export function leaseProof(context: AgentContext): LeaseProof {
  return { identity: context.authorityClaim.identity, leaseToken: context.owner.leaseToken, fencingToken: context.fencingToken };
}

/** Resolves when the claim is still this owner's; throws ClaimLostError (code claim_lost) otherwise. */
export async function verifyCurrentClaim(context: AgentContext, authority: ClaimAuthority, action = 'the guarded action'): Promise<VerifyResult> {
  const result = await authority.verify(leaseProof(context));
  if (result.status === 'verified') return result;
  throw claimLost(context, result.status, result.claim, result.dbNow, action);
}

export function claimLost(context: AgentContext, status: VerifyStatus | RejectionReason, current: ClaimRecord | null, dbNow: string, action: string): ClaimLostError {
  const message =
    `${lossExplanation(context, status, current, dbNow)}; ${action} was refused. ` +
    'Stop working on this item; you may still record `blocked` or `failed` with `dev-nexus automation current-agent record`.';
  return new ClaimLostError(message, status, otherHolder(context, current));
}

/** "claim lost: work item X is no longer held by this run (...): why, and to whom". */
export function lossExplanation(context: AgentContext, status: VerifyStatus | RejectionReason, current: ClaimRecord | null, dbNow: string): string {
  const ours = `host ${context.owner.hostId}${context.owner.agentId ? `, agent ${context.owner.agentId}` : ''}, fencing token ${context.fencingToken}`;
  return `claim lost: work item ${context.workItemId} is no longer held by this run (${ours}): ${why(status, current, otherHolder(context, current), dbNow)}`;
}

/** The current claim when it is a later grant (someone else's); never our own stale record. */
function otherHolder(context: AgentContext, current: ClaimRecord | null): ClaimHolder | null {
  if (!current || current.fencingToken === context.fencingToken) return null;
  const { hostId, agentId, ownerId } = current.owner;
  return { hostId, agentId, ownerId, fencingToken: current.fencingToken, state: current.state, expiresAt: current.expiresAt };
}

function why(status: VerifyStatus | RejectionReason, current: ClaimRecord | null, holder: ClaimHolder | null, dbNow: string): string {
  if (holder) {
    const who = `host ${holder.hostId}${holder.agentId ? ` (agent ${holder.agentId})` : ''} with fencing token ${holder.fencingToken}`;
    const until = holder.state === 'active' ? `, lease until ${holder.expiresAt}` : `, which has since been released`;
    return `it was claimed again by ${who}${until} (${status}; database time ${dbNow})`;
  }
  switch (status) {
    case 'expired':
      return `its lease expired at ${current?.expiresAt ?? 'an earlier time'} without a renewal, and nobody has reclaimed it yet (expired; database time ${dbNow})`;
    case 'released':
      return `it was released at ${current?.releasedAt ?? 'an earlier time'}${current?.releasedBy ? ` by ${current.releasedBy}` : ''} (released)`;
    case 'missing':
    case 'missing_claim':
      return `the claim authority has no claim for it (${status})`;
    default:
      return `the claim authority refused this run's lease (${status}; database time ${dbNow})`;
  }
}
