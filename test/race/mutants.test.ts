// The property tests must catch a deliberately broken authority. Two test-only mutants of
// the PostgreSQL authority, built from the real statements with one rule broken each:
//   - IgnoresExpiry: a claim takes over the item even while the holder's lease is live;
//   - HostClockExpiry: a claim judges expiry on the claiming host's (skewed) wall clock.
// Each must make the same property fail.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';
import type { ClaimRequest, ClaimResult } from '../../src/claims/types.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { historyArb, runHistory, type ActorFactory, type History } from './history.js';

const EXPIRY_CHECK = "WHERE c.state = 'released' OR c.expires_at <= clock_timestamp()";
const projectId = 'mutants';
let db: TestDatabase;
let clients: SqlClient[];
let auditor: PostgresClaimAuthority;

class IgnoresExpiry extends PostgresClaimAuthority {
  constructor(client: SqlClient, schema: string) {
    super({ client, schema });
    this.sql = { ...this.sql, claim: { name: `${this.sql.claim.name}_mutant_ignores_expiry`, text: mutate(this.sql.claim.text, "WHERE c.state = 'released' OR true") } };
  }
}

let hostClockCalls = 0;

class HostClockExpiry extends PostgresClaimAuthority {
  private readonly original = this.sql.claim;
  constructor(client: SqlClient, schema: string, private readonly skewMs: number) {
    super({ client, schema });
  }
  override async claim(request: ClaimRequest): Promise<ClaimResult> {
    const hostNow = new Date(Date.now() + this.skewMs).toISOString();
    hostClockCalls += 1;
    // A fresh statement name per call: the text differs each time, and a connection refuses a reused name.
    this.sql = { ...this.sql, claim: { name: `${this.original.name}_mutant_host_clock_${hostClockCalls}`, text: mutate(this.original.text, `WHERE c.state = 'released' OR c.expires_at <= '${hostNow}'::timestamptz`) } };
    return super.claim(request);
  }
}

function mutate(text: string, replacement: string): string {
  if (!text.includes(EXPIRY_CHECK)) throw new Error('the claim statement changed: update the mutant');
  return text.replace(EXPIRY_CHECK, replacement);
}

beforeAll(async () => {
  db = await createTestSchema('mutants');
  clients = await Promise.all(Array.from({ length: 4 }, () => db.client({ maxConnections: 2 })));
  auditor = await db.authority({ maxConnections: 1 });
});
afterAll(async () => {
  await db?.close();
});

/** Thrown for a history that broke an invariant, so a crash of the test itself is not mistaken for a catch. */
class InvariantViolation extends Error {}

async function propertyFails(actors: ActorFactory): Promise<{ failed: boolean; byViolation: boolean; numRuns: number; counterexample: string }> {
  const property = fc.asyncProperty(historyArb(4, 2), async (history: History) => {
    const outcome = await runHistory(history, actors, (tracker) => auditor.events(projectId, tracker), projectId);
    if (outcome.problems.length > 0) throw new InvariantViolation(outcome.problems.join('; '));
  });
  const details = await fc.check(property, { numRuns: 300, seed: 20261203 });
  const error = details.errorInstance;
  return {
    failed: details.failed,
    byViolation: error instanceof InvariantViolation,
    numRuns: details.numRuns,
    counterexample: `${JSON.stringify(details.counterexample)} -> ${error instanceof Error ? error.message : String(error)}`,
  };
}

describe('the property tests catch a broken authority', () => {
  it('a claim that ignores expiry (takes live claims) fails the property', async () => {
    const result = await propertyFails((owner) => ({ authority: new IgnoresExpiry(clients[owner]!, db.schema) }));
    console.log(`[mutant ignores-expiry] caught after ${result.numRuns} histories: ${result.counterexample}`);
    expect(result).toMatchObject({ failed: true, byViolation: true });
  }, 300_000);

  it('a claim that judges expiry on the host clock fails the property', async () => {
    const result = await propertyFails((owner, skewMs) => ({ authority: new HostClockExpiry(clients[owner]!, db.schema, skewMs) }));
    console.log(`[mutant host-clock] caught after ${result.numRuns} histories: ${result.counterexample}`);
    expect(result).toMatchObject({ failed: true, byViolation: true });
  }, 300_000);

  it('the correct authority passes the same histories (control)', async () => {
    const authorities = await Promise.all(clients.map(async (client) => new PostgresClaimAuthority({ client, schema: db.schema })));
    const result = await propertyFails((owner) => ({ authority: authorities[owner]! }));
    expect(result.failed, result.counterexample).toBe(false);
  }, 300_000);
});
