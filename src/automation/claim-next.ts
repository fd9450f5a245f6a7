// claim-next: pick the first claimable candidate of the selected tracker and claim it.
// Candidates come in a deterministic order (priority, age, id); the authority, not the
// tracker's status, decides what is claimable; a lost race moves on to the next candidate.
import { randomUUID } from 'node:crypto';
import type { ClaimAuthority } from '../claims/authority.js';
import { ClaimAuthorityError } from '../claims/errors.js';
import type { ClaimOwner, ClaimRecord, InspectResult } from '../claims/types.js';
import { orderCandidates } from '../trackers/order.js';
import type { WorkItem } from '../trackers/types.js';
import { defaultAuthorityDeps, withClaimAuthority, type AuthorityDeps, type Blocked } from './authority.js';
import { mirrorClaim } from './mirror.js';
import type { ClaimReadiness } from './readiness.js';
import type { Workspace, WorkspaceOptions } from './workspace.js';

export interface ClaimNextInput extends WorkspaceOptions {
  hostId: string;
  agentId?: string;
  ownerId?: string;
  leaseDurationMs?: number;
  /** Only items carrying every one of these labels. */
  labels?: readonly string[];
}

export interface SkippedCandidate {
  workItemId: string;
  reason: 'in_progress_without_expired_claim' | 'released_while_in_progress';
  detail: string;
}

export interface LostTo {
  workItemId: string;
  fencingToken: number;
  hostId: string;
  expiresAt: string;
}

export interface ClaimedOwner {
  hostId: string;
  agentId: string | null;
  ownerId: string;
  /** The bearer secret of this claim: only its owner ever sees it. */
  leaseToken: string;
  claimedAt: string;
  expiresAt: string;
}

export interface ClaimNextResult {
  status: 'claimed' | 'lost_race' | 'no_claim' | 'blocked';
  reason?: string;
  backend: ClaimReadiness['backend'];
  workItem: WorkItem | null;
  owner: ClaimedOwner | null;
  /** The claim as the authority holds it. For lost_race, the winner's claim (never its lease token). */
  authorityClaim: ClaimRecord | null;
  lostTo: LostTo[];
  skippedCandidates: SkippedCandidate[];
  warnings: string[];
  /** Present when blocked: what is missing and what to do. */
  readiness?: ClaimReadiness;
}

export function defaultOwnerId(hostId: string, agentId?: string): string {
  return agentId ? `${hostId}/${agentId}` : hostId;
}

export async function claimNext(input: ClaimNextInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<ClaimNextResult> {
  const result = await withClaimAuthority(input, deps, ({ authority }, workspace) => claimFirst(workspace, authority, input));
  if (result.status !== 'blocked') return result;
  const blocked = result as Blocked;
  return { status: 'blocked', reason: blocked.reason, readiness: blocked.readiness, backend: blocked.readiness.backend, workItem: null, owner: null, authorityClaim: null, lostTo: [], skippedCandidates: [], warnings: [] };
}

async function claimFirst(workspace: Workspace, authority: ClaimAuthority, input: ClaimNextInput): Promise<ClaimNextResult> {
  const { candidates, held, skipped } = await findCandidates(workspace, authority, input.labels);
  const owner: ClaimOwner = { hostId: input.hostId, agentId: input.agentId ?? null, ownerId: input.ownerId ?? defaultOwnerId(input.hostId, input.agentId) };
  const leaseDurationMs = input.leaseDurationMs ?? workspace.project.automation.workItemClaims.leaseDurationMs;
  // An item another owner already holds is a race this owner lost before it started.
  const lostTo: LostTo[] = [];
  let lastHolder: ClaimRecord | null = null;
  let lastItem: WorkItem | null = null;
  const lose = (item: WorkItem, holder: ClaimRecord) => {
    lostTo.push({ workItemId: item.id, fencingToken: holder.fencingToken, hostId: holder.owner.hostId, expiresAt: holder.expiresAt });
    lastHolder = holder;
    lastItem = item;
  };
  for (const { item, holder } of held) lose(item, holder);
  const result = { backend: authority.kind, skippedCandidates: skipped, warnings: [] as string[] };

  for (const item of candidates) {
    const leaseToken = randomUUID();
    const request = {
      identity: { projectId: workspace.project.projectId, trackerId: workspace.tracker.trackerId, workItemId: item.id },
      owner,
      leaseToken,
      leaseDurationMs,
      metadata: { componentId: workspace.component.id },
    };
    const outcome = await claimOnce(authority, request);
    if (outcome.status === 'claimed') {
      const { item: mirrored, warning } = await mirrorClaim(workspace.tracker, item.id, outcome.claim, authority.kind);
      const claim = outcome.claim;
      return {
        ...result,
        status: 'claimed',
        workItem: mirrored ?? item,
        owner: { ...owner, leaseToken, claimedAt: claim.claimedAt, expiresAt: claim.expiresAt },
        authorityClaim: claim,
        lostTo,
        warnings: warning ? [warning] : [],
      };
    }
    lose(item, outcome.holder);
  }
  if (lostTo.length > 0) {
    return { ...result, status: 'lost_race', reason: `every candidate is held by another owner (${lostTo.length})`, workItem: lastItem, owner: null, authorityClaim: lastHolder, lostTo };
  }
  const why = skipped.length > 0 ? `no eligible work item: ${skipped.length} candidate(s) skipped` : 'no eligible work item (no ready item matches)';
  return { ...result, status: 'no_claim', reason: why, workItem: null, owner: null, authorityClaim: null, lostTo };
}

/** An ambiguous failure (the claim may have committed) is retried once with the same lease token: it finds its own claim. */
async function claimOnce(authority: ClaimAuthority, request: Parameters<ClaimAuthority['claim']>[0]) {
  try {
    return await authority.claim(request);
  } catch (error) {
    if (error instanceof ClaimAuthorityError && error.ambiguous) return authority.claim(request);
    throw error;
  }
}

/**
 * Ready items, plus in_progress items whose claim expired (reclaimable). The authority is
 * asked once, for all candidates, which of them another owner holds.
 */
async function findCandidates(workspace: Workspace, authority: ClaimAuthority, labels?: readonly string[]): Promise<{ candidates: WorkItem[]; held: { item: WorkItem; holder: ClaimRecord }[]; skipped: SkippedCandidate[] }> {
  const items = orderCandidates(await workspace.tracker.list({ statuses: ['ready', 'in_progress'], labels }));
  if (items.length === 0) return { candidates: [], held: [], skipped: [] };
  const claims = await authority.inspect({ projectId: workspace.project.projectId, trackerId: workspace.tracker.trackerId, workItemIds: items.map((i) => i.id) });
  const state = claimStates(claims);
  const candidates: WorkItem[] = [];
  const held: { item: WorkItem; holder: ClaimRecord }[] = [];
  const skipped: SkippedCandidate[] = [];
  for (const item of items) {
    const claim = state.get(item.id);
    if (claim?.status === 'active') {
      held.push({ item, holder: claim.record });
    } else if (item.status === 'in_progress' && claim?.status === 'released') {
      skipped.push({ workItemId: item.id, reason: 'released_while_in_progress', detail: `its claim was released but the tracker still says in_progress; set its status to ready to make it claimable` });
    } else if (item.status === 'in_progress' && !claim) {
      skipped.push({ workItemId: item.id, reason: 'in_progress_without_expired_claim', detail: 'the tracker says in_progress and there is no expired claim to reclaim' });
    } else {
      candidates.push(item);
    }
  }
  return { candidates, held, skipped };
}

function claimStates(claims: InspectResult): Map<string, { status: 'active' | 'stale' | 'released'; record: ClaimRecord }> {
  const map = new Map<string, { status: 'active' | 'stale' | 'released'; record: ClaimRecord }>();
  for (const status of ['active', 'stale', 'released'] as const) {
    for (const record of claims[status]) map.set(record.identity.workItemId, { status, record });
  }
  return map;
}
