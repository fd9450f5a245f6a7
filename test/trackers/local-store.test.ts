// The local work tracker: files, validation, compare-and-set, corruption and locks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrackerError } from '../../src/trackers/errors.js';
import { openLocalTracker, orderCandidates, type LocalWorkTracker } from '../../src/trackers/local/index.js';
import type { WorkItem } from '../../src/trackers/types.js';

let outer: string;
let root: string;
let dir: string;
let clock: number;
let tracker: LocalWorkTracker;

const open = (options: { lockTimeoutMs?: number; lockStaleMs?: number } = {}) =>
  openLocalTracker(root, { trackerId: 'local', now: () => new Date((clock += 1000)), ...options });

beforeEach(async () => {
  // The workspace sits inside a sandbox, so "nothing written outside the workspace" is checkable.
  outer = await mkdtemp(join(tmpdir(), 'dev-nexus-tracker-'));
  root = join(outer, 'workspace');
  await mkdir(root);
  dir = join(root, '.dev-nexus', 'work-items');
  clock = Date.parse('2025-01-01T00:00:00.000Z');
  tracker = open();
});
afterEach(async () => {
  await rm(outer, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<TrackerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrackerError);
  return error as TrackerError;
}

async function filesIn(path: string): Promise<string[]> {
  const entries = await readdir(path, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).sort();
}

describe('add and get', () => {
  it('creates an item with defaults, a generated id and a pretty, stable file', async () => {
    const item = await tracker.add({ title: 'Fix login' });
    expect(item.id).toMatch(/^wi-20250101-[a-z0-9]{6}$/);
    expect(item).toMatchObject({ title: 'Fix login', body: '', labels: [], priority: 100, status: 'ready', revision: 1, comments: [], claim: null });
    expect(item.createdAt).toBe(item.updatedAt);
    const text = await readFile(join(dir, `${item.id}.json`), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "title": "Fix login",\n');
    expect(Object.keys(JSON.parse(text))).toEqual(['id', 'title', 'status', 'priority', 'labels', 'createdAt', 'updatedAt', 'revision', 'claim', 'body', 'comments']);
    expect(await tracker.get(item.id)).toEqual(item);
  });

  it('keeps the given id, body, labels (de-duplicated), priority and status', async () => {
    const item = await tracker.add({ id: 'task-1', title: 'T', body: 'line 1\nline 2', labels: ['bug', 'area/auth', 'bug'], priority: 0, status: 'blocked' });
    expect(item).toMatchObject({ id: 'task-1', body: 'line 1\nline 2', labels: ['bug', 'area/auth'], priority: 0, status: 'blocked' });
    expect(await tracker.get('task-1')).toEqual(item);
  });

  it('refuses an id that exists and leaves the existing item untouched', async () => {
    await tracker.add({ id: 'task-1', title: 'first' });
    const before = await readFile(join(dir, 'task-1.json'), 'utf8');
    const error = await rejection(tracker.add({ id: 'task-1', title: 'second' }));
    expect(error.code).toBe('work_item_exists');
    expect(await readFile(join(dir, 'task-1.json'), 'utf8')).toBe(before);
  });

  it('reports a missing item, and a missing workspace as such', async () => {
    expect((await rejection(tracker.get('nope'))).code).toBe('work_item_not_found');
    expect((await rejection(tracker.comment('nope', { body: 'x' }))).code).toBe('work_item_not_found');
    const elsewhere = openLocalTracker(join(outer, 'no-such-dir'), { trackerId: 'local' });
    expect((await rejection(elsewhere.get('a'))).code).toBe('workspace_not_found');
    expect((await rejection(elsewhere.list())).code).toBe('workspace_not_found');
    expect((await rejection(elsewhere.add({ title: 'x' }))).code).toBe('workspace_not_found');
    expect(existsSync(join(outer, 'no-such-dir'))).toBe(false);
  });

  const badFields: [string, Record<string, unknown>][] = [
    ['empty title', { title: '' }],
    ['blank title', { title: '   ' }],
    ['501-character title', { title: 'x'.repeat(501) }],
    ['multi-line title', { title: 'a\nb' }],
    ['escape in title', { title: 'a\u001b[2Jb' }],
    ['label with a space', { title: 't', labels: ['a b'] }],
    ['label starting with a dash', { title: 't', labels: ['-x'] }],
    ['65-character label', { title: 't', labels: ['x'.repeat(65)] }],
    ['unicode label', { title: 't', labels: ['büg'] }],
    ['negative priority', { title: 't', priority: -1 }],
    ['fractional priority', { title: 't', priority: 1.5 }],
    ['priority above 1000000', { title: 't', priority: 1_000_001 }],
    ['NaN priority', { title: 't', priority: Number.NaN }],
    ['unknown status', { title: 't', status: 'open' }],
    ['body with NUL', { title: 't', body: 'a\u0000b' }],
  ];
  it.each(badFields)('rejects a %s before touching the disk', async (_name, input) => {
    const error = await rejection(tracker.add(input as never));
    expect(error.code).toBe('invalid_work_item');
    expect(await filesIn(root)).toEqual([]);
  });

  it('accepts the boundaries', async () => {
    const item = await tracker.add({ title: 'x'.repeat(500), labels: ['a:b/c.d_e-f', 'x'.repeat(64)], priority: 1_000_000 });
    expect(item.priority).toBe(1_000_000);
  });
});

describe('work item ids', () => {
  const badIds: [string, unknown][] = [
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['parent traversal', '../../x'],
    ['inner dot-dot', 'a..b'],
    ['trailing dot-dot', 'a..'],
    ['slash', 'a/b'],
    ['absolute path', '/etc/passwd'],
    ['backslash', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['leading dot', '.hidden'],
    ['leading dash', '-rf'],
    ['space', 'a b'],
    ['command substitution', '$(touch pwned)'],
    ['backticks', '`id`'],
    ['semicolon', 'a;rm -rf ~'],
    ['pipe', 'a|b'],
    ['ampersand', 'a&b'],
    ['glob', 'a*'],
    ['redirect', 'a>b'],
    ['quote', "a'b"],
    ['unicode letter', 'tâche'],
    ['CJK', '作業'],
    ['emoji', 'task-🔥'],
    ['right-to-left override', 'a\u202eb'],
    ['fullwidth solidus', 'a\uff0fb'],
    ['129 characters', 'x'.repeat(129)],
    ['very long', 'y'.repeat(100_000)],
    ['not a string', 42],
  ];

  it.each(badIds)('rejects %s everywhere, writing nothing anywhere', async (_name, id) => {
    const attempts = [
      tracker.add({ id: id as string, title: 't' }),
      tracker.get(id as string),
      tracker.comment(id as string, { body: 'x' }),
      tracker.setStatus(id as string, 'done'),
      tracker.update(id as string, 1, () => ({ status: 'done' })),
    ];
    for (const attempt of attempts) {
      const error = await rejection(attempt);
      expect(error.code).toBe('invalid_work_item_id');
      expect(error.message).toContain('an id is 1-128 characters');
      expect(error.message.length).toBeLessThan(400);
      // Shown safely: quoted, escaped, printable ASCII only.
      expect(error.message).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(await filesIn(outer)).toEqual(['workspace']);
  });

  it('quotes a long id truncated, with escapes', async () => {
    const error = await rejection(tracker.get(`${'z'.repeat(200)}`));
    expect(error.message).toContain(`"${'z'.repeat(64)}\\u2026"`);
    expect((await rejection(tracker.get('a\u0000\u202e'))).message).toContain('"a\\u0000\\u202e"');
  });

  it.each(['a', '7', 'A.b_c-1', 'x'.repeat(128), 'v1.2.3', 'a.lock', 'b.json'])('accepts %s', async (id) => {
    const item = await tracker.add({ id, title: 't' });
    expect((await tracker.get(id)).id).toBe(item.id);
    expect((await tracker.list()).map((i) => i.id)).toEqual([id]);
  });
});

describe('list', () => {
  beforeEach(async () => {
    await tracker.add({ id: 'c', title: 'C', labels: ['bug', 'ui'] });
    await tracker.add({ id: 'a', title: 'A', labels: ['bug'], status: 'blocked' });
    await tracker.add({ id: 'b', title: 'B', labels: ['docs'], status: 'done' });
  });
  const ids = (items: WorkItem[]) => items.map((i) => i.id);

  it('lists every item sorted by id', async () => {
    expect(ids(await tracker.list())).toEqual(['a', 'b', 'c']);
  });
  it('filters by any of the statuses', async () => {
    expect(ids(await tracker.list({ statuses: ['ready'] }))).toEqual(['c']);
    expect(ids(await tracker.list({ statuses: ['ready', 'done'] }))).toEqual(['b', 'c']);
  });
  it('filters by all of the labels', async () => {
    expect(ids(await tracker.list({ labels: ['bug'] }))).toEqual(['a', 'c']);
    expect(ids(await tracker.list({ labels: ['bug', 'ui'] }))).toEqual(['c']);
    expect(ids(await tracker.list({ labels: ['bug'], statuses: ['blocked'] }))).toEqual(['a']);
  });
  it('rejects an unknown status filter', async () => {
    expect((await rejection(tracker.list({ statuses: ['open' as never] }))).code).toBe('invalid_work_item');
  });
  it('is empty before anything was added', async () => {
    const other = join(outer, 'fresh');
    await mkdir(other);
    expect(await openLocalTracker(other, { trackerId: 'local' }).list()).toEqual([]);
  });
  it('ignores temporary and lock files', async () => {
    await writeFile(join(dir, '.c.json.123.abcd.tmp'), '{');
    await writeFile(join(dir, 'c.lock'), '{}');
    expect(ids(await tracker.list())).toEqual(['a', 'b', 'c']);
  });
});

describe('comment, setStatus and revisions', () => {
  it('increments the revision on every write and keeps the history', async () => {
    const added = await tracker.add({ id: 'w', title: 'W' });
    const first = await tracker.comment('w', { body: 'first' });
    const second = await tracker.comment('w', { body: 'second', author: 'alice' });
    const started = await tracker.setStatus('w', 'in_progress');
    expect([added, first, second, started].map((i) => i.revision)).toEqual([1, 2, 3, 4]);
    expect(started.comments).toEqual([
      { id: 'c-1', author: 'dev-nexus', body: 'first', createdAt: first.updatedAt },
      { id: 'c-2', author: 'alice', body: 'second', createdAt: second.updatedAt },
    ]);
    expect(started.status).toBe('in_progress');
    expect(started.createdAt).toBe(added.createdAt);
    expect(Date.parse(started.updatedAt)).toBeGreaterThan(Date.parse(second.updatedAt));
    expect(await tracker.get('w')).toEqual(started);
  });

  it('rejects an empty comment, a bad author and a bad status without writing', async () => {
    await tracker.add({ id: 'w', title: 'W' });
    expect((await rejection(tracker.comment('w', { body: '  ' }))).code).toBe('invalid_work_item');
    expect((await rejection(tracker.comment('w', { body: 'x', author: 'a\nb' }))).code).toBe('invalid_work_item');
    expect((await rejection(tracker.setStatus('w', 'closed' as never))).code).toBe('invalid_work_item');
    expect((await tracker.get('w')).revision).toBe(1);
  });

  it('loses no update among concurrent writers in one process', async () => {
    await tracker.add({ id: 'w', title: 'W' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => tracker.comment('w', { body: `n${i}` })));
    const item = await tracker.get('w');
    expect(item.comments).toHaveLength(20);
    expect(item.revision).toBe(21);
    expect(new Set(item.comments.map((c) => c.id)).size).toBe(20);
    expect(await filesIn(dir)).toEqual(['w.json']);
  });
});

describe('update (compare-and-set)', () => {
  beforeEach(async () => {
    await tracker.add({ id: 'w', title: 'W' });
  });

  it('writes when the revision matches, with every change validated', async () => {
    const result = await tracker.update('w', 1, () => ({
      status: 'in_progress',
      labels: ['claimed'],
      claim: { hostId: 'h1', fencingToken: 7, expiresAt: '2025-01-01T01:00:00Z', agentId: null },
      appendComments: [{ body: 'claimed by h1', author: 'h1' }],
    }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.item).toMatchObject({ revision: 2, status: 'in_progress', labels: ['claimed'], comments: [{ id: 'c-1', body: 'claimed by h1' }] });
    expect(result.item.claim).toEqual({ agentId: null, expiresAt: '2025-01-01T01:00:00Z', fencingToken: 7, hostId: 'h1' });
    // Stored opaque but with sorted keys: the file diffs the same whatever order the backend built it in.
    const stored = JSON.parse(await readFile(join(dir, 'w.json'), 'utf8'));
    expect(Object.keys(stored.claim)).toEqual(['agentId', 'expiresAt', 'fencingToken', 'hostId']);
    expect(await tracker.get('w')).toEqual(result.item);
  });

  it('returns the current item on a revision mismatch and writes nothing', async () => {
    await tracker.setStatus('w', 'blocked');
    const before = await readFile(join(dir, 'w.json'), 'utf8');
    let called = false;
    const result = await tracker.update('w', 1, () => {
      called = true;
      return { status: 'done' };
    });
    expect(result).toMatchObject({ ok: false, reason: 'revision_mismatch', current: { revision: 2, status: 'blocked' } });
    expect(called).toBe(false);
    expect(await readFile(join(dir, 'w.json'), 'utf8')).toBe(before);
  });

  it('lets exactly one of two racing updates with the same expected revision win', async () => {
    const results = await Promise.all(['h1', 'h2'].map((h) => tracker.update('w', 1, () => ({ claim: { hostId: h } }))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toHaveLength(1);
    expect((await tracker.get('w')).revision).toBe(2);
  });

  it('gives mutate a private copy: only the returned change is written', async () => {
    const result = await tracker.update('w', 1, (item) => {
      item.title = 'sneaky';
      item.revision = 99;
      item.comments.push({ id: 'x', author: 'x', body: 'x', createdAt: 'x' });
      return { priority: 5 };
    });
    expect(result.ok && result.item).toMatchObject({ title: 'W', revision: 2, priority: 5, comments: [] });
  });

  it.each([
    ['an array claim', { claim: [1, 2] }],
    ['a claim holding a function', { claim: { f: () => 1 } }],
    ['a claim holding NaN', { claim: { n: Number.NaN } }],
    ['a claim holding a Date', { claim: { d: new Date() } }],
    ['an oversized claim', { claim: { s: 'x'.repeat(70_000) } }],
    ['a bad title', { title: '' }],
    ['a bad label', { labels: ['no spaces'] }],
  ])('rejects %s and keeps the revision', async (_name, change) => {
    const error = await rejection(tracker.update('w', 1, () => change as never));
    expect(error.code).toBe('invalid_work_item');
    expect((await tracker.get('w')).revision).toBe(1);
  });

  it('clears a claim with null and releases the lock when mutate throws', async () => {
    await tracker.update('w', 1, () => ({ claim: { hostId: 'h' } }));
    await expect(tracker.update('w', 2, () => {
      throw new Error('backend bug');
    })).rejects.toThrow('backend bug');
    expect(await filesIn(dir)).toEqual(['w.json']);
    const cleared = await tracker.update('w', 2, () => ({ claim: null }));
    expect(cleared.ok && cleared.item.claim).toBeNull();
  });

  it('rejects a non-positive or fractional expected revision', async () => {
    for (const revision of [0, -1, 1.5, Number.NaN]) {
      expect((await rejection(tracker.update('w', revision, () => ({})))).code).toBe('invalid_work_item');
    }
  });
});

describe('corrupt item files', () => {
  const valid = (id: string) => ({
    id, title: 'T', status: 'ready', priority: 1, labels: [], createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z', revision: 1, claim: null, body: '', comments: [],
  });
  const cases: [string, string, string][] = [
    ['not JSON', 'bad', '{"id": "bad", '],
    ['empty', 'bad', ''],
    ['an array', 'bad', '[]'],
    ['a wrong type', 'bad', JSON.stringify({ ...valid('bad'), priority: 'high' })],
    ['a missing field', 'bad', JSON.stringify({ ...valid('bad'), comments: undefined })],
    ['an unknown field', 'bad', JSON.stringify({ ...valid('bad'), assignee: 'me' })],
    ['an id that is not its file name', 'bad', JSON.stringify(valid('other'))],
    ['a broken comment', 'bad', JSON.stringify({ ...valid('bad'), comments: [{ id: 'c-1' }] })],
  ];

  it.each(cases)('reports %s, naming the file, from get, list and writes', async (_name, id, text) => {
    await tracker.add({ id: 'good', title: 'fine' });
    const file = join(dir, `${id}.json`);
    await writeFile(file, text);
    for (const attempt of [tracker.get(id), tracker.list(), tracker.comment(id, { body: 'x' })]) {
      const error = await rejection(attempt);
      expect(error.code).toBe('work_item_corrupt');
      expect(error.message).toContain(file);
      expect(error.file).toBe(file);
    }
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('reports a file whose name is not a valid id', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'no good.json'), JSON.stringify(valid('x')));
    const error = await rejection(tracker.list());
    expect(error.code).toBe('work_item_corrupt');
    expect(error.message).toContain('no good.json');
  });
});

describe('item locks', () => {
  const lockFile = () => join(dir, 'w.lock');
  const writeLock = (content: object | string) =>
    writeFile(lockFile(), typeof content === 'string' ? content : JSON.stringify(content));

  beforeEach(async () => {
    await tracker.add({ id: 'w', title: 'W' });
  });

  it('breaks a lock whose holder process has exited', async () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    await writeLock({ pid: exited.pid, host: hostname(), acquiredAt: new Date().toISOString(), token: 'dead' });
    const item = await open({ lockTimeoutMs: 2_000 }).comment('w', { body: 'after a crash' });
    expect(item.revision).toBe(2);
    expect(existsSync(lockFile())).toBe(false);
  });

  it('breaks a lock older than the stale limit even if its holder lives', async () => {
    await writeLock({ pid: process.pid, host: hostname(), acquiredAt: new Date(Date.now() - 31_000).toISOString(), token: 'old' });
    expect((await open({ lockTimeoutMs: 2_000 }).setStatus('w', 'done')).status).toBe('done');
    expect(existsSync(lockFile())).toBe(false);
  });

  it('breaks an unreadable lock by the age of its file', async () => {
    await writeLock('');
    const old = new Date(Date.now() - 60_000);
    await utimes(lockFile(), old, old);
    expect((await open({ lockTimeoutMs: 2_000 }).comment('w', { body: 'x' })).revision).toBe(2);
  });

  it('gives up on a live lock after the timeout, saying which file and what to do', async () => {
    await writeLock({ pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString(), token: 'live' });
    const started = Date.now();
    const error = await rejection(open({ lockTimeoutMs: 300 }).comment('w', { body: 'x' }));
    const waited = Date.now() - started;
    expect(error.code).toBe('tracker_locked');
    expect(error.file).toBe(lockFile());
    expect(error.message).toContain(lockFile());
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toMatch(/delete the lock file/);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(3_000);
    // Not ours: the waiter leaves the holder's lock alone, and the item is unchanged.
    expect(JSON.parse(await readFile(lockFile(), 'utf8')).token).toBe('live');
    expect((await tracker.get('w')).revision).toBe(1);
  });

  it('waits 5 s by default, then fails', async () => {
    await writeLock({ pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString(), token: 'live' });
    const started = Date.now();
    expect((await rejection(tracker.setStatus('w', 'done'))).code).toBe('tracker_locked');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(4_900);
    expect(waited).toBeLessThan(10_000);
  });

  it('does not judge a pid from another host', async () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    await writeLock({ pid: exited.pid, host: `not-${hostname()}`, acquiredAt: new Date().toISOString(), token: 'remote' });
    expect((await rejection(open({ lockTimeoutMs: 200 }).comment('w', { body: 'x' }))).code).toBe('tracker_locked');
  });

  it('proceeds as soon as the holder releases', async () => {
    await writeLock({ pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString(), token: 'live' });
    setTimeout(() => void rm(lockFile()), 200);
    expect((await open({ lockTimeoutMs: 3_000 }).comment('w', { body: 'x' })).revision).toBe(2);
  });
});

describe('orderCandidates', () => {
  it('orders by priority, then creation time, then id, without mutating its input', () => {
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
    const items = [
      { id: 'd', priority: 100, createdAt: at(1) },
      { id: 'c', priority: 5, createdAt: at(9) },
      { id: 'b', priority: 100, createdAt: at(1) },
      { id: 'a', priority: 100, createdAt: at(2) },
      { id: 'e', priority: 5, createdAt: at(3) },
    ];
    expect(orderCandidates(items).map((i) => i.id)).toEqual(['e', 'c', 'b', 'd', 'a']);
    expect(items.map((i) => i.id)).toEqual(['d', 'c', 'b', 'a', 'e']);
  });
});
