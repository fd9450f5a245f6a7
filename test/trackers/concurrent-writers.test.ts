// Several PROCESSES writing one item at once lose no update: the per-item lock file and
// atomic replace hold across processes, and so does the compare-and-set claim backends use.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openLocalTracker } from '../../src/trackers/local/index.js';
import { assertFreshBuild } from './fixtures/built.js';

const WORKERS = 4;
const PER_WORKER = 25;
const workerScript = new URL('./fixtures/tracker-worker.mjs', import.meta.url).pathname;

let root: string;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dev-nexus-writers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Finished {
  name: string;
  mismatches: number;
}

/** Start every worker, wait until all are loaded, then release them together. */
async function race(mode: 'comment' | 'cas'): Promise<Finished[]> {
  const children = Array.from({ length: WORKERS }, (_, k) =>
    spawn(process.execPath, [workerScript, root, 'shared', `w${k}`, String(PER_WORKER), mode], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const outputs = children.map(collect);
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin?.write('go\n');
  return Promise.all(outputs.map((o) => o.finished));
}

function collect(child: ChildProcess): { ready: Promise<void>; finished: Promise<Finished> } {
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const seen: string[] = [];
  const ready = new Promise<void>((resolve) => lines.on('line', (line) => (seen.push(line), line === 'ready' && resolve())));
  const finished = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`worker exited with ${code}: ${stderr}`);
    return JSON.parse(seen[seen.length - 1]!) as Finished;
  });
  return { ready, finished };
}

describe(`${WORKERS} processes writing one item`, () => {
  it(`appends exactly ${WORKERS * PER_WORKER} comments, in each writer's order`, async () => {
    const tracker = openLocalTracker(root, { trackerId: 'local' });
    await tracker.add({ id: 'shared', title: 'contended' });
    await race('comment');
    const item = await tracker.get('shared');
    expect(item.comments).toHaveLength(WORKERS * PER_WORKER);
    expect(item.revision).toBe(1 + WORKERS * PER_WORKER);
    expect(new Set(item.comments.map((c) => c.id)).size).toBe(WORKERS * PER_WORKER);
    for (let k = 0; k < WORKERS; k++) {
      const mine = item.comments.filter((c) => c.author === `w${k}`).map((c) => c.body);
      expect(mine).toEqual(Array.from({ length: PER_WORKER }, (_, i) => `w${k}:${i}`));
    }
    // No lock or temporary file left behind.
    expect(await readdir(join(root, '.dev-nexus', 'work-items'))).toEqual(['shared.json']);
  });

  it('counts exactly with compare-and-set: every lost race retried, none double-applied', async () => {
    const tracker = openLocalTracker(root, { trackerId: 'local' });
    await tracker.add({ id: 'shared', title: 'contended' });
    const finished = await race('cas');
    const item = await tracker.get('shared');
    expect(item.claim?.counter).toBe(WORKERS * PER_WORKER);
    expect(item.revision).toBe(1 + WORKERS * PER_WORKER);
    console.log(`[concurrent-writers] compare-and-set mismatches retried: ${finished.map((f) => `${f.name}=${f.mismatches}`).join(' ')}`);
    expect(await readdir(join(root, '.dev-nexus', 'work-items'))).toEqual(['shared.json']);
  });
});
