// Input rules of the local tracker. Ids become file names, so the id rule is what keeps every
// write inside `<workspace>/.dev-nexus/work-items/`: it is checked before any path is built.
import { TrackerError } from '../errors.js';
import { WORK_ITEM_STATUSES, type ClaimMetadata, type JsonValue, type NewComment, type WorkItemStatus } from '../types.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const WORK_ITEM_ID_RULE =
  'an id is 1-128 characters from A-Z a-z 0-9 . _ -, starts with a letter or digit and never contains ".."';
const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,63}$/;
const LABEL_RULE = 'a label is 1-64 characters from A-Z a-z 0-9 : . _ / -, starting with a letter or digit';
const CONTROL = /[\u0000-\u001f\u007f]/;

export const MAX_TITLE_LENGTH = 500;
export const MAX_BODY_LENGTH = 65_536;
export const MAX_LABELS = 64;
export const MAX_PRIORITY = 1_000_000;
const MAX_AUTHOR_LENGTH = 128;
const MAX_CLAIM_BYTES = 65_536;
const MAX_CLAIM_DEPTH = 16;

/**
 * Quote untrusted text for a message: JSON-escaped, cut to `max` characters, and every
 * non-ASCII character escaped too, so control, bidi or look-alike characters show as codes.
 */
export function quoteSafely(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function invalid(field: string, message: string): TrackerError {
  return new TrackerError('invalid_work_item', `invalid ${field}: ${message}`);
}

export function checkWorkItemId(id: unknown): string {
  const ok = typeof id === 'string' && ID_PATTERN.test(id) && !id.includes('..');
  if (!ok) throw new TrackerError('invalid_work_item_id', `invalid work item id ${quoteSafely(id)}: ${WORK_ITEM_ID_RULE}`);
  return id;
}

export function checkTitle(title: unknown): string {
  if (typeof title !== 'string' || title.trim().length === 0) throw invalid('title', 'a title must be non-empty text');
  if (title.length > MAX_TITLE_LENGTH) throw invalid('title', `a title has at most ${MAX_TITLE_LENGTH} characters (got ${title.length})`);
  // Titles are shown one per line in listings; a newline or escape sequence would forge rows.
  if (CONTROL.test(title)) throw invalid('title', 'a title is one line without control characters');
  return title;
}

export function checkBody(body: unknown, field = 'body'): string {
  if (typeof body !== 'string') throw invalid(field, 'must be text');
  if (body.length > MAX_BODY_LENGTH) throw invalid(field, `at most ${MAX_BODY_LENGTH} characters (got ${body.length})`);
  if (body.includes('\u0000')) throw invalid(field, 'must not contain NUL characters');
  return body;
}

export function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || !LABEL_PATTERN.test(label)) throw invalid('label', `${quoteSafely(label)}: ${LABEL_RULE}`);
  return label;
}

/** Checked and de-duplicated, first occurrence kept. */
export function checkLabels(labels: unknown): string[] {
  if (!Array.isArray(labels)) throw invalid('labels', 'must be a list of labels');
  const unique = [...new Set(labels.map(checkLabel))];
  if (unique.length > MAX_LABELS) throw invalid('labels', `at most ${MAX_LABELS} labels per item (got ${unique.length})`);
  return unique;
}

export function checkPriority(priority: unknown): number {
  const ok = typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= MAX_PRIORITY;
  if (!ok) throw invalid('priority', `${quoteSafely(priority)}: a priority is an integer from 0 to ${MAX_PRIORITY}, lower is more urgent`);
  return priority;
}

export function checkStatus(status: unknown): WorkItemStatus {
  if (!(WORK_ITEM_STATUSES as readonly unknown[]).includes(status)) {
    throw invalid('status', `${quoteSafely(status)}: a status is one of ${WORK_ITEM_STATUSES.join(', ')}`);
  }
  return status as WorkItemStatus;
}

export function checkRevision(revision: unknown): number {
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) {
    throw invalid('revision', `${quoteSafely(revision)}: a revision is a positive integer (the item's current revision)`);
  }
  return revision;
}

export function checkAuthor(author: unknown): string {
  const ok = typeof author === 'string' && author.trim().length > 0 && author.length <= MAX_AUTHOR_LENGTH && !CONTROL.test(author);
  if (!ok) throw invalid('author', `an author is 1-${MAX_AUTHOR_LENGTH} characters on one line`);
  return author;
}

export function checkNewComment(comment: NewComment): Required<NewComment> {
  const body = checkBody(comment?.body, 'comment body');
  if (body.trim().length === 0) throw invalid('comment body', 'a comment must have non-empty text');
  return { body, author: checkAuthor(comment.author ?? 'dev-nexus') };
}

export function checkTimestamp(value: unknown, field: string): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalid(field, 'must be an ISO 8601 timestamp');
  return value;
}

/** Claim metadata is opaque but must be a bounded JSON object; returns a deep copy with sorted keys. */
export function checkClaim(claim: unknown): ClaimMetadata | null {
  if (claim === null || claim === undefined) return null;
  if (!isPlainObject(claim)) throw invalid('claim', 'claim metadata must be a JSON object or null');
  const copy = copyJson(claim, 0) as ClaimMetadata;
  if (Buffer.byteLength(JSON.stringify(copy)) > MAX_CLAIM_BYTES) throw invalid('claim', `claim metadata is at most ${MAX_CLAIM_BYTES} bytes of JSON`);
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Sorted keys give the file a stable order, so the same claim always diffs the same.
function copyJson(value: unknown, depth: number): JsonValue {
  if (depth > MAX_CLAIM_DEPTH) throw invalid('claim', `claim metadata nests at most ${MAX_CLAIM_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((v) => copyJson(v, depth + 1));
  if (isPlainObject(value)) {
    const entries = Object.keys(value).sort().map((k) => [k, copyJson(value[k], depth + 1)] as const);
    return Object.fromEntries(entries);
  }
  throw invalid('claim', 'claim metadata holds only JSON values (no undefined, functions, NaN, dates or class instances)');
}
