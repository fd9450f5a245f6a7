// The work-item commands through the real binary: --json prints exactly one JSON object,
// failures exit non-zero with { ok: false, error: { code, message } }.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertFreshBuild, cliPath } from './fixtures/built.js';

let outer: string;
let root: string;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  outer = await mkdtemp(join(tmpdir(), 'dev-nexus-cli-'));
  root = join(outer, 'ws');
  await import('node:fs/promises').then((fs) => fs.mkdir(root));
});
afterEach(async () => {
  await rm(outer, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, 'work-item', ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exactly one line on stdout, and it is a JSON object. */
function onlyJson(run: Run): Record<string, any> {
  const lines = run.stdout.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(run.stdout.endsWith('\n')).toBe(true);
  const value = JSON.parse(lines[0]!);
  expect(typeof value).toBe('object');
  return value;
}

describe('dev-nexus work-item', () => {
  it('adds, lists, shows, comments and sets status with --json', async () => {
    const added = onlyJson(await cli('add', root, '--title', 'Fix login', '--label', 'bug', '--label', 'area/auth', '--priority', '7', '--json'));
    expect(added).toMatchObject({ ok: true, workItem: { title: 'Fix login', labels: ['bug', 'area/auth'], priority: 7, status: 'ready', revision: 1 } });
    const id = added.workItem.id as string;
    onlyJson(await cli('add', root, '--id', 'second', '--title', 'Docs', '--body', 'write them', '--json'));

    const listed = onlyJson(await cli('list', root, '--label', 'bug', '--json'));
    expect(listed).toEqual({ ok: true, workItems: [added.workItem] });
    expect(onlyJson(await cli('list', root, '--status', 'ready', '--status', 'done', '--json')).workItems).toHaveLength(2);

    const commented = onlyJson(await cli('comment', root, id, '--body', 'reproduced', '--author', 'alice', '--json'));
    expect(commented.workItem.comments).toMatchObject([{ id: 'c-1', author: 'alice', body: 'reproduced' }]);
    const done = onlyJson(await cli('set-status', root, id, 'done', '--json'));
    expect(done.workItem).toMatchObject({ status: 'done', revision: 3 });
    expect(onlyJson(await cli('show', root, id, '--json'))).toEqual({ ok: true, workItem: done.workItem });
  });

  it('prints readable text without --json', async () => {
    const added = await cli('add', root, '--id', 'task-1', '--title', 'Fix login', '--label', 'bug');
    expect(added).toMatchObject({ code: 0, stdout: 'added task-1: Fix login (ready, priority 100)\n' });
    const listed = await cli('list', root);
    expect(listed.stdout).toMatch(/^ID\s+STATUS\s+PRIORITY\s+LABELS\s+TITLE\ntask-1\s+ready\s+100\s+bug\s+Fix login\n$/);
    await cli('comment', root, 'task-1', '--body', 'red \u001b[31m alert');
    const shown = await cli('show', root, 'task-1');
    expect(shown.stdout).toContain('task-1: Fix login');
    expect(shown.stdout).toContain('red \\u001b[31m alert'); // a terminal escape is shown, not obeyed
  });

  it.each([
    ['show', '../../etc/passwd'],
    ['show', 'a/b'],
    ['comment', '$(touch pwned)'],
    ['set-status', 'x'.repeat(300)],
  ])('%s with the bad id %s exits non-zero with one JSON error and writes nothing', async (command, id) => {
    const extra = command === 'comment' ? ['--body', 'x'] : command === 'set-status' ? ['done'] : [];
    const run = await cli(command, root, id, ...extra, '--json');
    expect(run.code).not.toBe(0);
    const output = onlyJson(run);
    expect(output).toEqual({ ok: false, error: { code: 'invalid_work_item_id', message: expect.stringContaining('an id is 1-128 characters') } });
    expect(await readdir(outer)).toEqual(['ws']);
    expect(await readdir(root)).toEqual([]);
  });

  it('reports invalid input, missing items and bad statuses as JSON errors', async () => {
    const badPriority = await cli('add', root, '--title', 't', '--priority', '1e3', '--json');
    expect(badPriority.code).toBe(1);
    expect(onlyJson(badPriority).error.code).toBe('invalid_work_item');
    const missing = await cli('show', root, 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(onlyJson(missing).error.code).toBe('work_item_not_found');
    const badStatus = await cli('list', root, '--status', 'open', '--json');
    expect(onlyJson(badStatus).error.code).toBe('invalid_work_item');
  });

  it('explains itself in --help', async () => {
    const help = await cli('--help');
    expect(help.stdout).toContain('dev-nexus work-item add . --title');
    expect((await cli('add', '--help')).stdout).toContain('--label <label>');
  });
});
