// The fault scenarios' assertions must fire against a deliberately broken authority: the
// taking-over runner uses a claim that ignores expiry (or judges it on a host clock an hour ahead).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { assertFreshBuild } from '../trackers/fixtures/built.js';
import { killWinner, partitionWinner, stallWinner } from './support/scenarios.js';
import { recordScenario } from './support/summary.js';

let db: TestDatabase;
let auditor: PostgresClaimAuthority;
beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('fault_mutants');
  auditor = await db.authority();
});
afterAll(async () => {
  await db?.close();
});

describe('fault scenarios catch a broken authority', () => {
  it.each([
    ['1. kill -9 winner', 'ignores-expiry', () => killWinner(db, auditor, 'ignores-expiry')],
    ['1. kill -9 winner', 'host-clock', () => killWinner(db, auditor, 'host-clock')],
    ['2. SIGSTOP winner', 'ignores-expiry', () => stallWinner(db, auditor, 'ignores-expiry')],
    ['4. partition (blackhole)', 'ignores-expiry', () => partitionWinner(db, auditor, 'blackhole', 'ignores-expiry')],
  ] as const)('%s with a claim that %s reports violations', async (scenario, mutant, run) => {
    const result = await run();
    recordScenario({ scenario: `${scenario} vs mutant ${mutant} (expected to fail)`, faults: result.faults, violations: 0, detail: `caught: ${result.violations.length} violations: ${result.violations.slice(0, 2).join('; ')}` });
    console.log(`[fault mutant] ${scenario} / ${mutant}: ${result.violations.length} violations, e.g. ${result.violations[0]}`);
    expect(result.violations.length).toBeGreaterThan(0);
  }, 60_000);
});
