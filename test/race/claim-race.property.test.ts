// Property-based race tests against a real PostgreSQL: random concurrent histories of claim,
// heartbeat, release, verify, crash and pause over several owners with skewed host clocks and
// leases of tens of milliseconds. After every history the audit checker and the reference
// model (history.ts) must agree: one owner per item at any database instant, fencing +1 per
// grant, no stale token accepted, every grant in the events.
//
// DEV_NEXUS_RACE_RUNS (default 1000) and DEV_NEXUS_RACE_SEED make runs reproducible; a failure
// prints the seed, the shrunk history and what each owner was told.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { describeOutcome, historyArb, runHistory, type History } from './history.js';

const RUNS = Number(process.env.DEV_NEXUS_RACE_RUNS ?? 1000);
const SEED = process.env.DEV_NEXUS_RACE_SEED ? Number(process.env.DEV_NEXUS_RACE_SEED) : undefined;
const OWNERS = 4;
const projectId = 'property';

let db: TestDatabase;
let owners: PostgresClaimAuthority[];
let auditor: PostgresClaimAuthority;

beforeAll(async () => {
  db = await createTestSchema('property');
  // Each owner has its own pool: its statements race on their own connections.
  owners = await Promise.all(Array.from({ length: OWNERS }, () => db.authority({ maxConnections: 2 })));
  auditor = await db.authority({ maxConnections: 1 });
});
afterAll(async () => {
  await db?.close();
});

describe('claim races (property)', () => {
  it(`${RUNS} random concurrent histories keep every invariant`, async () => {
    let histories = 0;
    const property = fc.asyncProperty(historyArb(OWNERS, 2), async (history: History) => {
      histories += 1;
      const outcome = await runHistory(history, (owner) => ({ authority: owners[owner]! }), (tracker) => auditor.events(projectId, tracker), projectId);
      if (outcome.problems.length > 0) throw new Error(`\n${describeOutcome(history, outcome)}`);
    });
    const started = Date.now();
    await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: undefined });
    console.log(`[race property] ${histories} histories, ${RUNS} runs, ${((Date.now() - started) / 1000).toFixed(1)} s${SEED !== undefined ? `, seed ${SEED}` : ''}`);
    expect(histories).toBeGreaterThanOrEqual(RUNS);
  }, 300_000);
});
