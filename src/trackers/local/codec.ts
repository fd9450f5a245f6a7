// The on-disk form of an item: pretty JSON with a fixed key order, so files read well and
// diff cleanly. Reading checks every field with the same rules as writing: a file a human
// broke is reported as corrupt (naming the file and the problem), never half-used.
import { TrackerError } from '../errors.js';
import type { WorkItem, WorkItemComment } from '../types.js';
import {
  checkAuthor,
  checkBody,
  checkClaim,
  checkLabels,
  checkPriority,
  checkRevision,
  checkStatus,
  checkTimestamp,
  checkTitle,
  checkWorkItemId,
  quoteSafely,
} from './validate.js';

const ITEM_KEYS = ['id', 'title', 'status', 'priority', 'labels', 'createdAt', 'updatedAt', 'revision', 'claim', 'body', 'comments'];
const COMMENT_KEYS = ['id', 'author', 'createdAt', 'body'];

export function serializeWorkItem(item: WorkItem): string {
  const ordered = {
    id: item.id,
    title: item.title,
    status: item.status,
    priority: item.priority,
    labels: item.labels,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    revision: item.revision,
    claim: item.claim ?? null,
    body: item.body,
    comments: item.comments.map((c) => ({ id: c.id, author: c.author, createdAt: c.createdAt, body: c.body })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Parse an item file; any problem is a `work_item_corrupt` error that names the file. */
export function parseWorkItem(text: string, file: string, expectedId: string): WorkItem {
  try {
    const item = toWorkItem(JSON.parse(text));
    if (item.id !== expectedId) throw new Error(`its id ${quoteSafely(item.id)} does not match its file name`);
    return item;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return corrupt(file, reason);
  }
}

export function corrupt(file: string, reason: string): never {
  throw new TrackerError(
    'work_item_corrupt',
    `work item file ${file} is corrupt: ${reason}. Fix or remove the file (it is JSON; compare with another item file).`,
    { file },
  );
}

function toWorkItem(value: unknown): WorkItem {
  const record = asRecord(value, 'the file', ITEM_KEYS);
  if (!Array.isArray(record.comments)) throw new Error('comments must be a list');
  return {
    id: checkWorkItemId(record.id),
    title: checkTitle(record.title),
    body: checkBody(record.body),
    labels: checkLabels(record.labels),
    priority: checkPriority(record.priority),
    status: checkStatus(record.status),
    createdAt: checkTimestamp(record.createdAt, 'createdAt'),
    updatedAt: checkTimestamp(record.updatedAt, 'updatedAt'),
    revision: checkRevision(record.revision),
    comments: record.comments.map(toComment),
    claim: checkClaim(record.claim),
  };
}

function toComment(value: unknown, index: number): WorkItemComment {
  const record = asRecord(value, `comment ${index + 1}`, COMMENT_KEYS);
  if (typeof record.id !== 'string' || record.id.length === 0) throw new Error(`comment ${index + 1} has no id`);
  return {
    id: record.id,
    author: checkAuthor(record.author),
    body: checkBody(record.body, 'comment body'),
    createdAt: checkTimestamp(record.createdAt, 'comment createdAt'),
  };
}

// Unknown keys are rejected rather than dropped: the next write would silently lose them.
function asRecord(value: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new Error(`${what} has unknown fields ${unknown.map((k) => quoteSafely(k)).join(', ')}`);
  return value as Record<string, unknown>;
}
