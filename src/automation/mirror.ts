// Mirroring a claim to the tracker, the visible work record: status in_progress and a comment
// naming host, agent, fencing token and expiry. Never the lease token. A mirror failure is a
// warning on the result: the claim stands.
import type { ClaimAuthorityKind } from '../claims/authority.js';
import type { ClaimRecord } from '../claims/types.js';
import type { NewComment, WorkItem, WorkItemChange, WorkTracker } from '../trackers/types.js';

const ATTEMPTS = 3;

/** Apply a change with compare-and-set, re-reading on a lost race, a bounded number of times. */
export async function updateItem(tracker: WorkTracker, id: string, change: (item: WorkItem) => WorkItemChange): Promise<WorkItem> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await tracker.get(id);
    const result = await tracker.update(id, current.revision, change);
    if (result.ok) return result.item;
    if (attempt >= ATTEMPTS) throw new Error(`work item ${id} kept changing (${ATTEMPTS} attempts)`);
  }
}

function who(claim: ClaimRecord): string {
  return `host ${claim.owner.hostId}${claim.owner.agentId ? `, agent ${claim.owner.agentId}` : ''}`;
}

export function claimComment(claim: ClaimRecord, backend: ClaimAuthorityKind): NewComment {
  const reclaimed = claim.reclaimedFrom ? `; reclaimed from ${claim.reclaimedFrom.owner.hostId} (fencing token ${claim.reclaimedFrom.fencingToken}), whose lease expired` : '';
  return {
    author: 'dev-nexus',
    body: `Claimed by ${who(claim)} with fencing token ${claim.fencingToken}; lease until ${claim.expiresAt} (${backend})${reclaimed}.`,
  };
}

export async function mirrorClaim(tracker: WorkTracker, id: string, claim: ClaimRecord, backend: ClaimAuthorityKind): Promise<{ item: WorkItem | null; warning: string | null }> {
  try {
    const item = await updateItem(tracker, id, () => ({ status: 'in_progress', appendComments: [claimComment(claim, backend)] }));
    return { item, warning: null };
  } catch (error) {
    return { item: null, warning: `mirror_failed: the claim stands, but work item ${id} could not be marked in_progress in tracker ${tracker.trackerId} (${(error as Error).message}); update it by hand` };
  }
}

export async function mirrorComment(tracker: WorkTracker, id: string, body: string): Promise<string | null> {
  try {
    await updateItem(tracker, id, () => ({ appendComments: [{ author: 'dev-nexus', body }] }));
    return null;
  } catch (error) {
    return `mirror_failed: work item ${id} could not get a comment in tracker ${tracker.trackerId} (${(error as Error).message})`;
  }
}

export function releaseComment(claim: ClaimRecord): string {
  return `Claim released by ${who(claim)} (fencing token ${claim.fencingToken}).`;
}
