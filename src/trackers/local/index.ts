// The local work tracker: items as JSON files inside the workspace.
import { LocalWorkTracker, type LocalTrackerOptions } from './store.js';

export { LocalWorkTracker, WORK_ITEMS_DIRECTORY, applyChange, generateWorkItemId, type LocalTrackerOptions } from './store.js';
export { checkWorkItemId, quoteSafely, WORK_ITEM_ID_RULE } from './validate.js';
export { DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS } from './lock.js';
export { orderCandidates, compareCandidates } from '../order.js';
export { TrackerError, isTrackerError, type TrackerErrorCode } from '../errors.js';
export * from '../types.js';

/** Open the tracker stored under `<workspaceRoot>/.dev-nexus/work-items/`. Nothing is touched until the first write. */
export function openLocalTracker(workspaceRoot: string, options: LocalTrackerOptions): LocalWorkTracker {
  return new LocalWorkTracker(workspaceRoot, options);
}
