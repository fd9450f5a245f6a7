// The local work tracker: one pretty JSON file per item under
// `<workspace>/.dev-nexus/work-items/<id>.json`. Every read-modify-write holds the item's
// lock file and replaces the item atomically, so concurrent processes on one host lose no
// update; `update` adds a compare-and-set on the revision for claim backends.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TrackerError, isTrackerError } from '../errors.js';
import {
  DEFAULT_WORK_ITEM_PRIORITY,
  type NewComment,
  type NewWorkItem,
  type WorkItem,
  type WorkItemChange,
  type WorkItemComment,
  type WorkItemFilter,
  type WorkItemMutation,
  type WorkItemStatus,
  type WorkItemUpdateResult,
  type WorkTracker,
} from '../types.js';
import { corrupt, parseWorkItem, serializeWorkItem } from './codec.js';
import { readTextIfExists, writeFileAtomic } from './files.js';
import { DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS, withFileLock } from './lock.js';
import {
  checkBody,
  checkClaim,
  checkLabel,
  checkLabels,
  checkNewComment,
  checkPriority,
  checkRevision,
  checkStatus,
  checkTitle,
  checkWorkItemId,
  quoteSafely,
} from './validate.js';

export const WORK_ITEMS_DIRECTORY = join('.dev-nexus', 'work-items');

export interface LocalTrackerOptions {
  /** Stable tracker identity (part of a claim's identity). */
  trackerId: string;
  /** How long a write waits for an item's lock before failing with `tracker_locked`. Default 5 s. */
  lockTimeoutMs?: number;
  /** A lock older than this is broken even if its holder seems alive. Default 30 s. */
  lockStaleMs?: number;
  /** The clock for createdAt/updatedAt (tests inject one). */
  now?: () => Date;
}

const GENERATED_ID_ATTEMPTS = 5;

export class LocalWorkTracker implements WorkTracker {
  readonly trackerId: string;
  readonly workspaceRoot: string;
  readonly directory: string;
  private readonly lockTimeoutMs: number;
  private readonly lockStaleMs: number;
  private readonly now: () => Date;
  private directoryReady = false;

  constructor(workspaceRoot: string, options: LocalTrackerOptions) {
    this.trackerId = options.trackerId;
    this.workspaceRoot = resolve(workspaceRoot);
    this.directory = join(this.workspaceRoot, WORK_ITEMS_DIRECTORY);
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.lockStaleMs = options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** The item's file. Throws `invalid_work_item_id` before any path is built from a bad id. */
  fileFor(id: string): string {
    return join(this.directory, `${checkWorkItemId(id)}.json`);
  }

  async add(input: NewWorkItem): Promise<WorkItem> {
    const draft = this.draft(input); // everything validated before the disk is touched
    await guardIo(() => this.ensureDirectory());
    if (input.id !== undefined) return guardIo(() => this.create({ ...draft, id: checkWorkItemId(input.id) }));
    for (let attempt = 1; ; attempt++) {
      try {
        return await guardIo(() => this.create({ ...draft, id: generateWorkItemId(this.now()) }));
      } catch (error) {
        if (!isTrackerError(error, 'work_item_exists') || attempt >= GENERATED_ID_ATTEMPTS) throw error;
      }
    }
  }

  async get(id: string): Promise<WorkItem> {
    const file = this.fileFor(id);
    const item = await guardIo(() => this.read(id, file));
    if (item !== null) return item;
    await this.requireWorkspace();
    throw notFound(id, file);
  }

  async list(filter: WorkItemFilter = {}): Promise<WorkItem[]> {
    const statuses = (filter.statuses ?? []).map(checkStatus);
    const labels = (filter.labels ?? []).map(checkLabel);
    const items = await guardIo(() => this.readAll());
    return items.filter(
      (item) => (statuses.length === 0 || statuses.includes(item.status)) && labels.every((l) => item.labels.includes(l)),
    );
  }

  async comment(id: string, comment: NewComment): Promise<WorkItem> {
    const checked = checkNewComment(comment);
    return this.modify(id, () => ({ appendComments: [checked] }));
  }

  async setStatus(id: string, status: WorkItemStatus): Promise<WorkItem> {
    const checked = checkStatus(status);
    return this.modify(id, () => ({ status: checked }));
  }

  async update(id: string, expectedRevision: number, mutate: WorkItemMutation): Promise<WorkItemUpdateResult> {
    checkRevision(expectedRevision);
    return this.transact(id, async (current) => {
      if (current.revision !== expectedRevision) return { ok: false, reason: 'revision_mismatch', current };
      // A private copy: whatever mutate does to its argument, only the returned change is written.
      return { ok: true, item: await this.commit(current, mutate(structuredClone(current))) };
    });
  }

  /** An unconditional read-modify-write (still serialised by the item's lock). */
  private async modify(id: string, change: (current: WorkItem) => WorkItemChange): Promise<WorkItem> {
    return this.transact(id, (current) => this.commit(current, change(current)));
  }

  /** Hold the item's lock, read it fresh, and run `step` on it. */
  private async transact<T>(id: string, step: (current: WorkItem) => Promise<T>): Promise<T> {
    const file = this.fileFor(id);
    await guardIo(() => this.ensureDirectory());
    return guardIo(() =>
      withFileLock(this.lockFileFor(id), this.lockOptions(id), async () => {
        const current = await this.read(id, file);
        if (current === null) throw notFound(id, file);
        return step(current);
      }),
    );
  }

  private async commit(current: WorkItem, change: WorkItemChange): Promise<WorkItem> {
    const next = applyChange(current, change, this.now().toISOString());
    await writeFileAtomic(this.fileFor(next.id), serializeWorkItem(next));
    return next;
  }

  private async create(item: WorkItem): Promise<WorkItem> {
    const file = this.fileFor(item.id);
    return withFileLock(this.lockFileFor(item.id), this.lockOptions(item.id), async () => {
      if ((await readTextIfExists(file)) !== null) {
        throw new TrackerError('work_item_exists', `work item ${quoteSafely(item.id)} already exists (${file}); choose another id`, { file });
      }
      await writeFileAtomic(file, serializeWorkItem(item));
      return item;
    });
  }

  private draft(input: NewWorkItem): WorkItem {
    if (input.id !== undefined) checkWorkItemId(input.id);
    const at = this.now().toISOString();
    return {
      id: '',
      title: checkTitle(input.title),
      body: checkBody(input.body ?? ''),
      labels: checkLabels(input.labels ?? []),
      priority: checkPriority(input.priority ?? DEFAULT_WORK_ITEM_PRIORITY),
      status: checkStatus(input.status ?? 'ready'),
      createdAt: at,
      updatedAt: at,
      revision: 1,
      comments: [],
      claim: null,
    };
  }

  private async read(id: string, file: string): Promise<WorkItem | null> {
    const text = await readTextIfExists(file);
    return text === null ? null : parseWorkItem(text, file, id);
  }

  /** Every item, sorted by id. Dot files (temporaries) and lock files are not items. */
  private async readAll(): Promise<WorkItem[]> {
    const names = await readdir(this.directory).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await this.requireWorkspace();
      return [] as string[];
    });
    const itemNames = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const items: WorkItem[] = [];
    for (const name of itemNames) items.push(await this.readListed(name));
    return items;
  }

  private async readListed(name: string): Promise<WorkItem> {
    const file = join(this.directory, name);
    const id = name.slice(0, -'.json'.length);
    try {
      checkWorkItemId(id);
    } catch {
      corrupt(file, 'its file name is not a valid work item id');
    }
    const item = await this.read(id, file);
    // Deleted between readdir and read: report it rather than invent it.
    if (item === null) throw notFound(id, file);
    return item;
  }

  private lockFileFor(id: string): string {
    return join(this.directory, `${checkWorkItemId(id)}.lock`);
  }

  private lockOptions(id: string) {
    return { timeoutMs: this.lockTimeoutMs, staleMs: this.lockStaleMs, subject: `work item ${quoteSafely(id)}` };
  }

  private async ensureDirectory(): Promise<void> {
    if (this.directoryReady) return;
    await this.requireWorkspace();
    await mkdir(this.directory, { recursive: true });
    this.directoryReady = true;
  }

  /** A mistyped workspace path should say so, not look like an empty tracker. */
  private async requireWorkspace(): Promise<void> {
    const info = await stat(this.workspaceRoot).catch(() => null);
    if (!info?.isDirectory()) {
      throw new TrackerError('workspace_not_found', `workspace root ${this.workspaceRoot} is not a directory; pass an existing workspace`);
    }
  }
}

/** Apply a validated change, bump the revision and the update time. */
export function applyChange(current: WorkItem, change: WorkItemChange, at: string): WorkItem {
  return {
    ...current,
    title: change.title === undefined ? current.title : checkTitle(change.title),
    body: change.body === undefined ? current.body : checkBody(change.body),
    labels: change.labels === undefined ? current.labels : checkLabels(change.labels),
    priority: change.priority === undefined ? current.priority : checkPriority(change.priority),
    status: change.status === undefined ? current.status : checkStatus(change.status),
    claim: change.claim === undefined ? (current.claim ?? null) : checkClaim(change.claim),
    comments: [...current.comments, ...newComments(current.comments, change.appendComments ?? [], at)],
    updatedAt: at,
    revision: current.revision + 1,
  };
}

// Ids "c-<n>": unique within the item, and still unique if a human deleted a comment by hand.
function newComments(existing: readonly WorkItemComment[], added: readonly NewComment[], at: string): WorkItemComment[] {
  const taken = new Set(existing.map((c) => c.id));
  let n = existing.length;
  return added.map((comment) => {
    const { body, author } = checkNewComment(comment);
    do n++;
    while (taken.has(`c-${n}`));
    return { id: `c-${n}`, author, body, createdAt: at };
  });
}

/** `wi-<yyyymmdd>-<random6>`: sortable by day, and random enough that two hosts adding at once do not collide. */
export function generateWorkItemId(at: Date): string {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const random = [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
  return `wi-${day}-${random}`;
}

function notFound(id: string, file: string): TrackerError {
  return new TrackerError('work_item_not_found', `work item ${quoteSafely(id)} not found (no ${file}); list items with: dev-nexus work-item list`, { file });
}

/** Filesystem failures (permissions, full disk) become one stable code that names the path. */
async function guardIo<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TrackerError || !(error instanceof Error) || !('syscall' in error)) throw error;
    const path = (error as NodeJS.ErrnoException).path;
    throw new TrackerError('tracker_io_failed', `work tracker file access failed: ${error.message}`, { ...(path ? { file: path } : {}), cause: error });
  }
}
