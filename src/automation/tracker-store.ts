// The optimistic_tracker authority's view of a work tracker: an item's claim metadata, read
// and compare-and-set on the item's revision.
import type { StoredTrackerClaim, TrackerClaimSlot, TrackerClaimStore } from '../claims/tracker/authority.js';
import { isTrackerError } from '../trackers/errors.js';
import type { ClaimMetadata, WorkItem, WorkTracker } from '../trackers/types.js';

function storedClaim(item: WorkItem): StoredTrackerClaim | null {
  const claim = item.claim as unknown as StoredTrackerClaim | null | undefined;
  return claim && claim.backend === 'optimistic_tracker' ? claim : null;
}

export function trackerClaimStore(projectId: string, tracker: WorkTracker): TrackerClaimStore {
  return {
    projectId,
    trackerId: tracker.trackerId,
    async read(workItemId): Promise<TrackerClaimSlot | null> {
      try {
        const item = await tracker.get(workItemId);
        return { revision: item.revision, claim: storedClaim(item) };
      } catch (error) {
        if (isTrackerError(error, 'work_item_not_found')) return null;
        throw error;
      }
    },
    async write(workItemId, expectedRevision, claim) {
      const result = await tracker.update(workItemId, expectedRevision, () => ({ claim: claim as unknown as ClaimMetadata }));
      return result.ok;
    },
    async list() {
      return (await tracker.list()).map((item) => ({ workItemId: item.id, claim: storedClaim(item) }));
    },
  };
}
