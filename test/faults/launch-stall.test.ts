// 2b. SIGSTOP of a whole launch (the coordinator with its async sidecar, and its agent) past
// the lease, then SIGCONT: the sidecar learns on waking that the lease is gone and stops the
// agent before it completes; the new holder keeps the claim.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClaimEvents } from '../../src/claims/audit.js';
import { claimNext } from '../../src/automation/claim-next.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';
import { assertFreshBuild, cliPath } from '../trackers/fixtures/built.js';
import { addItem, readReport, setAgent } from '../automation/fixtures/support.js';
import { recordScenario } from './support/summary.js';

let db: TestDatabase;
const made: TestWorkspace[] = [];
beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('launch_stall');
});
afterAll(async () => {
  await Promise.all(made.map((w) => w.cleanup()));
  await db?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('2b. SIGSTOP of an async launch past its lease', () => {
  it('the sidecar stops the agent on waking; its completion is never recorded; the new holder keeps the claim', async () => {
    const projectId = `stall-${randomUUID().slice(0, 6)}`;
    const a = await createWorkspace({ backend: 'postgres', projectId, schema: db.schema, url: db.url, leaseDurationMs: 1_500, heartbeatIntervalMs: 500 });
    const b = await createWorkspace({ backend: 'postgres', projectId, schema: db.schema, url: db.url, leaseDurationMs: 60_000, heartbeatIntervalMs: 20_000 });
    made.push(a, b);
    await addItem(a, 'job');
    await addItem(b, 'job');
    const report = await setAgent(a, { steps: ['sleep:2500', 'record:completed'], mode: 'async', timeoutMs: 60_000 });

    // The launcher and its agent in one process group, as on a coordinator host.
    const launcher = spawn(process.execPath, [cliPath, 'automation', 'launch', a.root, '--home', a.home, '--host', 'host-a', '--kill-grace-ms', '500', '--json'], {
      env: { PATH: process.env.PATH, ...a.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 200 && !readReport(report).some((e) => e.event === 'start'); i += 1) await sleep(25);
    expect(readReport(report).some((e) => e.event === 'start')).toBe(true);

    process.kill(-launcher.pid!, 'SIGSTOP');
    let taken = await claimNext({ workspaceRoot: b.root, home: b.home, env: b.env, hostId: 'host-b' });
    for (let i = 0; i < 100 && taken.status !== 'claimed'; i += 1) {
      await sleep(50);
      taken = await claimNext({ workspaceRoot: b.root, home: b.home, env: b.env, hostId: 'host-b' });
    }
    await sleep(1500); // the agent's own timer is due by now too
    process.kill(-launcher.pid!, 'SIGCONT');
    const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') process.kill(-launcher.pid!, 'SIGKILL');

    const problems: string[] = [];
    if (taken.status !== 'claimed') problems.push(`host-b could not take over (${taken.status})`);
    if (code === 'timeout') problems.push('the launch did not end after waking');
    const result = JSON.parse(stdout.trim() || '{}');
    const run = result.launch?.run;
    if (run?.outcome?.outcome === 'completed') problems.push('a completion was recorded for the stale run');
    const completed = readReport(report).filter((e) => e.event === 'record' && e.ok === true);
    if (completed.length > 0) problems.push('the stale agent recorded its completion');
    const verdict = taken.status === 'claimed' ? (await (await db.authority()).verify({ identity: taken.authorityClaim!.identity, leaseToken: taken.owner!.leaseToken })).status : 'none';
    if (verdict !== 'verified') problems.push(`host-b's claim is ${verdict}`);
    const audit = checkClaimEvents(await (await db.authority()).events(projectId));
    problems.push(...audit.violations.map((v) => `audit ${v.kind}: ${v.detail}`));
    if (taken.status === 'claimed' && stdout.includes(taken.owner!.leaseToken)) problems.push('the stale launch printed the new owner\'s lease token');

    recordScenario({ scenario: 'SIGSTOP async launch past lease', faults: 1, violations: problems.length, detail: problems.join('; ') || `agent stoppedBy ${run?.agent?.stoppedBy}, outcome ${run?.outcome?.outcome}` });
    console.log(`[launch stall] stoppedBy ${run?.agent?.stoppedBy}, outcome ${run?.outcome?.outcome}: ${run?.outcome?.reason ?? ''}`);
    expect(problems).toEqual([]);
    expect(run?.outcome?.outcome).toBe('failed');
  }, 60_000);
});
