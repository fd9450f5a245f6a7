// Fault scenarios 1, 2 and 4 against the real authority: no violation allowed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { assertFreshBuild } from '../trackers/fixtures/built.js';
import { killWinner, partitionWinner, stallWinner, type ScenarioResult } from './support/scenarios.js';
import { recordScenario } from './support/summary.js';

let db: TestDatabase;
let auditor: PostgresClaimAuthority;
beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('faults');
  auditor = await db.authority();
});
afterAll(async () => {
  await db?.close();
});

function expectClean(scenario: string, result: ScenarioResult): void {
  recordScenario({ scenario, faults: result.faults, violations: result.violations.length, detail: [...result.violations, ...result.notes].join('; ') });
  expect(result.violations).toEqual([]);
}

describe('fault injection', () => {
  it('1. kill -9 of the winning runner mid-lease', async () => {
    expectClean('kill -9 winner', await killWinner(db, auditor));
  }, 60_000);

  it('2. SIGSTOP of the winner past its lease, then SIGCONT', async () => {
    expectClean('SIGSTOP winner past lease', await stallWinner(db, auditor));
  }, 60_000);

  it.each(['refuse', 'blackhole', 'half_open'] as const)('4. network partition of the winner: %s', async (mode) => {
    expectClean(`partition (${mode})`, await partitionWinner(db, auditor, mode));
  }, 60_000);
});
