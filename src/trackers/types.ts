// The work tracker contract: the visible work record (titles, labels, comments, workflow
// status). Claim authorities build on `update`, a compare-and-set on the item's revision;
// the tracker stores their claim metadata without interpreting it.

export const WORK_ITEM_STATUSES = ['ready', 'in_progress', 'blocked', 'done'] as const;
export type WorkItemStatus = (typeof WORK_ITEM_STATUSES)[number];

/** Lower is more urgent. Items added without a priority get this one. */
export const DEFAULT_WORK_ITEM_PRIORITY = 100;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * What the optimistic tracker backend stores on an item (hostId, agentId, ownerId,
 * leaseTokenSha256, fencingToken, claimedAt, expiresAt, state, ...). Opaque to the tracker:
 * it is validated only as a JSON object, never read. Never put a lease token itself here.
 */
export type ClaimMetadata = { [key: string]: JsonValue };

export interface WorkItemComment {
  id: string;
  author: string;
  body: string;
  /** ISO 8601, from the writing host's clock. */
  createdAt: string;
}

export interface WorkItem {
  id: string;
  title: string;
  body: string;
  labels: string[];
  /** Lower is more urgent; an integer 0..1000000, default 100. */
  priority: number;
  status: WorkItemStatus;
  createdAt: string;
  updatedAt: string;
  /** 1 when created, +1 on every write: the value `update` compares. */
  revision: number;
  comments: WorkItemComment[];
  claim?: ClaimMetadata | null;
}

export interface NewWorkItem {
  /** Generated when absent (`wi-<yyyymmdd>-<random6>`). */
  id?: string;
  title: string;
  body?: string;
  labels?: readonly string[];
  priority?: number;
  status?: WorkItemStatus;
}

export interface NewComment {
  body: string;
  /** Defaults to "dev-nexus". */
  author?: string;
}

export interface WorkItemFilter {
  /** Items whose status is any of these (all statuses when absent or empty). */
  statuses?: readonly WorkItemStatus[];
  /** Items that carry every one of these labels. */
  labels?: readonly string[];
}

/** The fields a compare-and-set write may change; absent fields stay as they are. */
export interface WorkItemChange {
  title?: string;
  body?: string;
  labels?: readonly string[];
  priority?: number;
  status?: WorkItemStatus;
  claim?: ClaimMetadata | null;
  /** Appended after the existing comments; the tracker assigns their ids and times. */
  appendComments?: readonly NewComment[];
}

/** Called with a private copy of the current item, under the item's lock: keep it quick and synchronous. */
export type WorkItemMutation = (current: WorkItem) => WorkItemChange;

export type WorkItemUpdateResult =
  | { ok: true; item: WorkItem }
  | { ok: false; reason: 'revision_mismatch'; current: WorkItem };

export interface WorkTracker {
  /** Stable identity of this tracker, part of a claim's identity (for the local tracker: "local"). */
  readonly trackerId: string;
  /** Fails with `work_item_exists` when the id is taken. */
  add(input: NewWorkItem): Promise<WorkItem>;
  /** Fails with `work_item_not_found` or `work_item_corrupt`. */
  get(id: string): Promise<WorkItem>;
  /** Sorted by id. Any corrupt item fails the whole listing (`work_item_corrupt`): nothing is skipped silently. */
  list(filter?: WorkItemFilter): Promise<WorkItem[]>;
  comment(id: string, comment: NewComment): Promise<WorkItem>;
  setStatus(id: string, status: WorkItemStatus): Promise<WorkItem>;
  /** Compare-and-set: writes only when the stored revision equals `expectedRevision`. */
  update(id: string, expectedRevision: number, mutate: WorkItemMutation): Promise<WorkItemUpdateResult>;
}
