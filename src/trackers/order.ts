// The order in which eligible work is offered to claimers. Tracker-agnostic, so any backend
// and the claim-next use case rank candidates the same way.
import type { WorkItem } from './types.js';

type Rankable = Pick<WorkItem, 'id' | 'priority' | 'createdAt'>;

/** A sorted copy: priority ascending (lower = more urgent), then oldest first, then id. */
export function orderCandidates<T extends Rankable>(items: readonly T[]): T[] {
  return [...items].sort(compareCandidates);
}

export function compareCandidates(a: Rankable, b: Rankable): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  // ISO 8601 UTC strings from toISOString() compare correctly as strings; parse anyway so a
  // hand-edited offset ("+02:00") still ranks by instant.
  const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
