// A per-item lock between processes on one host: an exclusive file created with
// open(path, 'wx'), holding the owner's pid, host, time and a random token. Waits are
// bounded; a lock whose holder has exited, or that is older than `staleMs`, is broken.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrackerError } from '../errors.js';
import { temporaryPathFor } from './files.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_LOCK_STALE_MS = 30_000;
const MAX_BACKOFF_MS = 50;

export interface LockOptions {
  timeoutMs: number;
  staleMs: number;
  /** What the lock protects, for the error message (e.g. `work item "wi-1"`). */
  subject: string;
}

interface Holder {
  raw: string;
  pid: number | null;
  host: string | null;
  token: string | null;
  /** When the holder took the lock: from the file, else the file's mtime. */
  sinceMs: number;
}

/** Run `fn` while holding the lock at `lockPath`; the lock is released however `fn` ends. */
export async function withFileLock<T>(lockPath: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const token = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<string> {
  const token = randomUUID();
  const deadline = Date.now() + options.timeoutMs;
  let backoff = 2;
  for (;;) {
    if (await tryCreate(lockPath, token)) return token;
    const holder = await readHolder(lockPath);
    if (holder === null) continue; // released between our attempt and our look: try again now
    if (isStale(holder, options.staleMs)) {
      await breakLock(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) throw lockedError(lockPath, holder, options);
    // Jittered exponential backoff: waiters that collided once do not collide in lockstep again.
    await sleep(Math.min(backoff, deadline - Date.now()) * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

async function tryCreate(lockPath: string, token: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const content = { pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString(), token };
    await handle.writeFile(`${JSON.stringify(content)}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(lockPath: string): Promise<Holder | null> {
  try {
    const [raw, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    return parseHolder(raw, info.mtimeMs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

// An unreadable lock (holder died between create and write, or a human wrote it) is still a
// lock; it just goes stale by the file's age instead of by its recorded time.
function parseHolder(raw: string, mtimeMs: number): Holder {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null) parsed = value as Record<string, unknown>;
  } catch {
    // fall through with nothing known
  }
  const since = typeof parsed.acquiredAt === 'string' ? Date.parse(parsed.acquiredAt) : NaN;
  return {
    raw,
    pid: Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0 ? (parsed.pid as number) : null,
    host: typeof parsed.host === 'string' ? parsed.host : null,
    token: typeof parsed.token === 'string' ? parsed.token : null,
    sinceMs: Number.isNaN(since) ? mtimeMs : since,
  };
}

function isStale(holder: Holder, staleMs: number): boolean {
  if (Date.now() - holder.sinceMs > staleMs) return true;
  // A pid means something only on its own host (the workspace may sit on a shared disk).
  return holder.pid !== null && holder.host === hostname() && !isProcessAlive(holder.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else. Only ESRCH proves it is gone.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Break a stale lock without deleting a fresh one: two waiters may judge the same lock stale,
 * and the slower one must not remove the lock the faster one has just taken. So move the
 * file aside (atomic), check it is the stale lock we judged, and put it back if it is not.
 */
async function breakLock(lockPath: string, judged: Holder): Promise<void> {
  const aside = temporaryPathFor(lockPath);
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke or released it
    throw error;
  }
  try {
    const moved = await readFile(aside, 'utf8');
    if (moved !== judged.raw) await link(aside, lockPath).catch(() => undefined); // fails only if a new lock is already there
  } finally {
    await rm(aside, { force: true });
  }
}

/** Remove the lock only if it is still ours: if it was broken as stale, it now belongs to another writer. */
async function release(lockPath: string, token: string): Promise<void> {
  const raw = await readFile(lockPath, 'utf8').catch(() => null);
  if (raw !== null && parseHolder(raw, 0).token === token) await rm(lockPath, { force: true });
}

function lockedError(lockPath: string, holder: Holder, options: LockOptions): TrackerError {
  const who = holder.pid === null ? 'an unknown process' : `pid ${holder.pid} on host ${holder.host ?? 'unknown'}`;
  const since = new Date(holder.sinceMs).toISOString();
  const message =
    `${options.subject} is locked by ${who} since ${since} (lock file ${lockPath}); gave up after ${options.timeoutMs} ms. ` +
    `Another dev-nexus process is writing it: retry shortly. If no dev-nexus process is running, delete the lock file; ` +
    `it is also broken automatically once its holder exits or after ${Math.round(options.staleMs / 1000)} s.`;
  return new TrackerError('tracker_locked', message, { file: lockPath });
}
