// The canary's shared assertions (canary/assertions.ts) against hand-made CLI results: a
// correct round passes, and each way a broken authority could show up is named.
import { describe, expect, it } from 'vitest';
import {
  findSecrets,
  judgeAudit,
  judgeDbRow,
  judgeForeignRelease,
  judgeGrantEvents,
  judgeHeartbeat,
  judgeInspect,
  judgeRace,
  judgeRelease,
  type RunnerOutcome,
} from '../../canary/assertions.js';
import type { CliOutcome } from '../../canary/protocol.js';

const ITEM = 'canary-x-r01';

function cli(json: unknown, exitCode = 0): CliOutcome {
  return { argv: [], exitCode, signal: null, json, stdout: JSON.stringify(json), stderr: '', ms: 1 };
}

function holder(hostId: string, fencingToken: number) {
  return { identity: { projectId: 'canary', trackerId: 'local', workItemId: ITEM }, fencingToken, state: 'active', expiresAt: '2030-01-01T01:00:00.000000Z', owner: { hostId, agentId: null, ownerId: hostId } };
}

function claimed(hostId: string, fencingToken = 1): unknown {
  return {
    ok: true,
    claim: {
      status: 'claimed',
      workItem: { id: ITEM },
      owner: { hostId, agentId: null, ownerId: hostId, leaseToken: '[lease token kept by its runner]', claimedAt: 'x', expiresAt: 'y' },
      authorityClaim: holder(hostId, fencingToken),
      lostTo: [],
      skippedCandidates: [],
      warnings: [],
    },
  };
}

function lost(winnerHost: string, fencingToken = 1): unknown {
  return {
    ok: true,
    claim: {
      status: 'lost_race',
      workItem: { id: ITEM },
      owner: null,
      authorityClaim: holder(winnerHost, fencingToken),
      lostTo: [{ workItemId: ITEM, fencingToken, hostId: winnerHost, expiresAt: 'y' }],
      skippedCandidates: [],
      warnings: [],
    },
  };
}

const a = (json: unknown, exitCode = 0): RunnerOutcome => ({ runner: 'runner-a', hostId: 'host-a', cli: cli(json, exitCode) });
const b = (json: unknown, exitCode = 0): RunnerOutcome => ({ runner: 'runner-b', hostId: 'host-b', cli: cli(json, exitCode) });

describe('judgeRace', () => {
  it('accepts one claimed and one lost_race that names the winner', () => {
    const verdict = judgeRace(ITEM, [a(claimed('host-a', 7)), b(lost('host-a', 7))]);
    expect(verdict.problems).toEqual([]);
    expect(verdict.winner?.runner).toBe('runner-a');
    expect(verdict.fencingToken).toBe(7);
    expect(verdict.loserSaw).toBe(7);
  });

  it('fails when both runners claimed (a broken authority: two winners)', () => {
    const verdict = judgeRace(ITEM, [a(claimed('host-a', 1)), b(claimed('host-b', 2))]);
    expect(verdict.problems.join('\n')).toContain('2 runners returned claimed');
    expect(verdict.problems.join('\n')).toContain('0 runners returned lost_race');
    expect(verdict.winner).toBeUndefined();
  });

  it('fails when both runners lost', () => {
    expect(judgeRace(ITEM, [a(lost('host-c')), b(lost('host-c'))]).problems.join('\n')).toContain('0 runners returned claimed');
  });

  it('fails when the loser saw another fencing token or host', () => {
    expect(judgeRace(ITEM, [a(claimed('host-a', 2)), b(lost('host-a', 1))]).problems.join('\n')).toContain('observed fencing token 1, the winner runner-a holds 2');
    expect(judgeRace(ITEM, [a(claimed('host-a', 1)), b(lost('host-z', 1))]).problems.join('\n')).toContain('observed holder "host-z"');
  });

  it('fails when the loser is shown a lease token, or holds a lease', () => {
    const leaky = lost('host-a') as { claim: { authorityClaim: Record<string, unknown>; owner: unknown } };
    leaky.claim.authorityClaim.leaseToken = 'secret';
    expect(judgeRace(ITEM, [a(claimed('host-a')), b(leaky)]).problems.join('\n')).toContain('carries a lease token field');
    const owning = lost('host-a') as { claim: { owner: unknown } };
    owning.claim.owner = { hostId: 'host-b' };
    expect(judgeRace(ITEM, [a(claimed('host-a')), b(owning)]).problems.join('\n')).toContain('got an owner record');
  });

  it('fails on no_claim, a crash, or another item', () => {
    const noClaim = { ok: true, claim: { status: 'no_claim', workItem: null, owner: null, authorityClaim: null, lostTo: [] } };
    expect(judgeRace(ITEM, [a(claimed('host-a')), b(noClaim)]).problems.join('\n')).toContain('returned no_claim');
    expect(judgeRace(ITEM, [a(claimed('host-a')), b(null, 70)]).problems.join('\n')).toContain('exited 70');
    const other = claimed('host-a') as { claim: { workItem: { id: string } } };
    other.claim.workItem.id = 'another';
    expect(judgeRace(ITEM, [a(other), b(lost('host-a'))]).problems.join('\n')).toContain('not this round\'s item');
  });
});

describe('the winner\'s follow-up steps', () => {
  it('heartbeat: same fencing token, still active; a rejection fails', () => {
    const ok = { ok: true, heartbeat: { status: 'heartbeat', claim: { ...holder('host-a', 3), expiresAt: '2030-01-01T02:00:00.000000Z' } } };
    expect(judgeHeartbeat(cli(ok), { itemId: ITEM, fencingToken: 3, expiresAt: '2030-01-01T01:00:00.000000Z' })).toEqual([]);
    expect(judgeHeartbeat(cli(ok), { itemId: ITEM, fencingToken: 4 }).join()).toContain('changed the fencing token');
    expect(judgeHeartbeat(cli({ ok: false, error: { code: 'token_mismatch' } }, 3), { itemId: ITEM, fencingToken: 3 }).join()).toContain('token_mismatch');
  });

  it('a foreign release must be refused with exit 3', () => {
    expect(judgeForeignRelease(cli({ ok: false, error: { code: 'token_mismatch' } }, 3))).toEqual([]);
    expect(judgeForeignRelease(cli({ ok: true, release: { status: 'released' } }))).toHaveLength(1);
  });

  it('release: released, not already released, same fencing token', () => {
    const ok = { ok: true, release: { status: 'released', alreadyReleased: false, claim: { ...holder('host-a', 3), state: 'released' } } };
    expect(judgeRelease(cli(ok), { fencingToken: 3 })).toEqual([]);
    const again = { ok: true, release: { ...ok.release, alreadyReleased: true } };
    expect(judgeRelease(cli(again), { fencingToken: 3 }).join()).toContain('alreadyReleased true');
  });

  it('inspect lists the item as released only', () => {
    const released = { ...holder('host-a', 1), state: 'released' };
    expect(judgeInspect(cli({ ok: true, inspect: { dbNow: 'x', active: [], stale: [], released: [released] } }), { itemId: ITEM, fencingToken: 1 })).toEqual([]);
    expect(judgeInspect(cli({ ok: true, inspect: { dbNow: 'x', active: [holder('host-a', 1)], stale: [], released: [] } }), { itemId: ITEM, fencingToken: 1 }).join()).toContain('still lists');
  });

  it('the database row ends released, by the winner', () => {
    const row = { state: 'released', fencing_token: '1', host_id: 'host-a', released_at: new Date() };
    expect(judgeDbRow([row], { itemId: ITEM, fencingToken: 1, winnerHostId: 'host-a' })).toEqual([]);
    expect(judgeDbRow([{ ...row, state: 'active', released_at: null }], { itemId: ITEM, fencingToken: 1, winnerHostId: 'host-a' }).join()).toContain('not released');
    expect(judgeDbRow([], { itemId: ITEM, fencingToken: 1, winnerHostId: 'host-a' }).join()).toContain('0 claim rows');
  });

  it('the audit passes only without violations, and with one grant per item', () => {
    expect(judgeAudit(cli({ ok: true, audit: { ok: true, itemsChecked: 2, eventsChecked: 6, grants: 2, violations: [] } }), { minGrants: 2 })).toEqual([]);
    const bad = { ok: false, audit: { ok: false, grants: 4, violations: [{ kind: 'overlapping_leases' }] } };
    expect(judgeAudit(cli(bad, 1), { minGrants: 2 }).join()).toContain('1 violation');
    expect(judgeGrantEvents(new Map([['i1', 1], ['i2', 2]]), ['i1', 'i2', 'i3'])).toEqual([
      'the event log has 2 grant events for i2, expected exactly 1',
      'the event log has 0 grant events for i3, expected exactly 1',
    ]);
  });

  it('findSecrets names the secrets found, never their values', () => {
    const found = findSecrets('connecting to postgres://u:hunter22@h/db', [
      { name: 'database password', value: 'hunter22' },
      { name: 'lease token', value: 'not-there-at-all' },
      { name: 'too short to judge', value: 'u' },
    ]);
    expect(found).toEqual(['database password']);
  });
});
