// Fault scenarios as functions, so the same scenario runs against the real authority (no
// violation allowed) and against a deliberately broken one (its assertions must fire).
import { randomUUID } from 'node:crypto';
import type { PostgresClaimAuthority } from '../../../src/claims/postgres/authority.js';
import type { TestDatabase } from '../../support/database.js';
import { startProxy, throughProxy, type ProxyMode } from './proxy.js';
import { leakedSecrets, startRunner, stopRunner, violations, type Runner, type RunnerOptions } from './runners.js';

export interface ScenarioResult {
  faults: number;
  violations: string[];
  notes: string[];
}

type Mutant = RunnerOptions['mutant'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function base(db: TestDatabase, name: string) {
  return { url: db.url, schema: db.schema, projectId: `${name}-${randomUUID().slice(0, 8)}`, item: 'item' };
}

/** Late actions of a stale owner must all be refused by the authority. */
async function staleOwnerRefused(auditor: PostgresClaimAuthority, projectId: string, stale: Runner, found: string[]): Promise<void> {
  const proof = { identity: { projectId, trackerId: 'local', workItemId: 'item' }, leaseToken: stale.leaseToken, fencingToken: 1 };
  const beat = await auditor.heartbeat({ ...proof, leaseDurationMs: 60_000 });
  if (beat.status !== 'rejected') found.push(`${stale.host}'s late heartbeat was accepted`);
  const release = await auditor.release(proof);
  if (release.status !== 'rejected') found.push(`${stale.host}'s late release was accepted`);
  const verify = await auditor.verify(proof);
  if (verify.status === 'verified') found.push(`${stale.host}'s late completion would pass the guard`);
}

async function finish(auditor: PostgresClaimAuthority, projectId: string, runners: Runner[], found: string[], secrets: string[]): Promise<string[]> {
  for (const runner of runners) stopRunner(runner);
  await Promise.all(runners.map((r) => r.exited));
  return [...found, ...(await violations(auditor, projectId, runners)), ...leakedSecrets(runners, secrets)];
}

/** 1. kill -9 of the winner mid-lease: nobody claims before the lease expires; then one reclaims with fencing 2. */
export async function killWinner(db: TestDatabase, auditor: PostgresClaimAuthority, mutant?: Mutant): Promise<ScenarioResult> {
  const b0 = base(db, 'kill');
  const a = startRunner({ ...b0, host: 'host-a', leaseMs: 1500, heartbeatMs: 300 });
  const found: string[] = [];
  const runners = [a];
  try {
    await a.waitFor((e) => e.event === 'heartbeat', 10_000);
    a.process.kill('SIGKILL');
    await a.exited;
    const b = startRunner({ ...b0, host: 'host-b', leaseMs: 1500, heartbeatMs: 300, retryMs: 50, mutant });
    runners.push(b);
    const claimed = await b.waitFor((e) => e.event === 'claimed', 10_000);
    if (claimed.fencingToken !== 2) found.push(`reclaim got fencing ${claimed.fencingToken}, expected 2`);
    if (!b.events.some((e) => e.event === 'lost_race')) found.push('host-b claimed at once, while host-a\'s lease was still live');
    await staleOwnerRefused(auditor, b0.projectId, a, found);
    return { faults: 1, violations: await finish(auditor, b0.projectId, runners, found, [new URL(db.url).password]), notes: [] };
  } catch (error) {
    await finish(auditor, b0.projectId, runners, found, []);
    throw error;
  }
}

/** 2. SIGSTOP of the winner past its lease, then SIGCONT: it learns it lost before acting. */
export async function stallWinner(db: TestDatabase, auditor: PostgresClaimAuthority, mutant?: Mutant): Promise<ScenarioResult> {
  const b0 = base(db, 'stall');
  const a = startRunner({ ...b0, host: 'host-a', leaseMs: 1000, heartbeatMs: 250 });
  const found: string[] = [];
  const runners = [a];
  try {
    await a.waitFor((e) => e.event === 'heartbeat', 10_000);
    a.process.kill('SIGSTOP');
    const b = startRunner({ ...b0, host: 'host-b', leaseMs: 5000, heartbeatMs: 500, retryMs: 50, mutant });
    runners.push(b);
    await b.waitFor((e) => e.event === 'claimed', 10_000);
    await sleep(200);
    const wokeAt = a.events.length;
    a.process.kill('SIGCONT');
    const lost = await a.waitFor((e) => e.event === 'lost', 5_000).catch(() => null);
    if (!lost) found.push('host-a kept going after waking up past its lease');
    const actedAfterWake = a.events.slice(wokeAt).filter((e) => e.event === 'acted' || e.event === 'heartbeat');
    if (actedAfterWake.length > 0) found.push(`host-a ${actedAfterWake.map((e) => e.event).join(', ')} after waking up past its lease`);
    await staleOwnerRefused(auditor, b0.projectId, a, found);
    return { faults: 1, violations: await finish(auditor, b0.projectId, runners, found, [new URL(db.url).password]), notes: [] };
  } catch (error) {
    await finish(auditor, b0.projectId, runners, found, []);
    throw error;
  }
}

/** 4. A partition of the winner through a proxy: bounded waits, the lease lapses, another takes over, the winner is fenced on return. */
export async function partitionWinner(db: TestDatabase, auditor: PostgresClaimAuthority, mode: Exclude<ProxyMode, 'pass'>, mutant?: Mutant): Promise<ScenarioResult> {
  const b0 = base(db, `partition-${mode}`);
  const target = new URL(db.url);
  const proxy = await startProxy({ host: target.hostname, port: Number(target.port) });
  const a = startRunner({ ...b0, url: throughProxy(db.url, proxy), host: 'host-a', leaseMs: 1200, heartbeatMs: 300, connectTimeoutMs: 500, queryTimeoutMs: 800 });
  const found: string[] = [];
  const runners = [a];
  try {
    await a.waitFor((e) => e.event === 'heartbeat', 10_000);
    proxy.setMode(mode);
    const b = startRunner({ ...b0, host: 'host-b', leaseMs: 5000, heartbeatMs: 500, retryMs: 50, mutant });
    runners.push(b);
    await b.waitFor((e) => e.event === 'claimed', 15_000);
    await sleep(500);
    proxy.setMode('pass');
    const lost = await a.waitFor((e) => e.event === 'lost', 8_000).catch(() => null);
    if (!lost) found.push('host-a was not fenced when the partition healed');
    // Every wait of the partitioned runner was bounded: connect 500 ms, round trip 800 ms, plus slack.
    const slow = a.events.filter((e) => typeof e.durationMs === 'number' && (e.durationMs as number) > 2500);
    if (slow.length > 0) found.push(`host-a waited ${slow.map((e) => `${e.durationMs} ms (${e.event})`).join(', ')}`);
    await staleOwnerRefused(auditor, b0.projectId, a, found);
    return { faults: 1, violations: await finish(auditor, b0.projectId, runners, found, [new URL(db.url).password]), notes: [`${a.events.filter((e) => e.event.endsWith('_error')).length} failed calls while partitioned`] };
  } catch (error) {
    await finish(auditor, b0.projectId, runners, found, []);
    throw error;
  } finally {
    await proxy.close();
  }
}
