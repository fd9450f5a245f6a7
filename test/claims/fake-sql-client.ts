// A scriptable in-memory SqlClient for unit tests of the PostgreSQL authority: it records
// every call (statement name, text and values) and answers from a queue of scripted
// responses (rows, or an error to throw), so tests can count round trips and inject faults.
import type { SqlClient, SqlRow, SqlStatement } from '../../src/claims/postgres/sql-client.js';

export interface FakeCall {
  /** The operation part of the statement name: claim, heartbeat, release, read_claim, inspect, events, schema_version. */
  op: string;
  name: string;
  text: string;
  values: readonly unknown[];
}

export type FakeResponse =
  | { op?: string; rows: SqlRow[] }
  | { op?: string; error: unknown }
  | { op?: string; run: (call: FakeCall) => SqlRow[] | Promise<SqlRow[]> };

/** Statement names look like dev_nexus_<op>_<12 hex digits> (statements.ts). */
export function opOf(name: string): string {
  const match = /^dev_nexus_(.+)_[0-9a-f]{12}$/.exec(name);
  return match?.[1] ?? name;
}

export class FakeSqlClient implements SqlClient {
  readonly calls: FakeCall[] = [];
  /** Scripting mistakes seen by the fake (an unexpected statement, an empty queue). */
  readonly problems: string[] = [];
  closed = false;
  private readonly queue: FakeResponse[] = [];

  /** Append scripted responses, answered in order, one per query. */
  script(...responses: FakeResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  rows(op: string, ...rows: SqlRow[]): this {
    return this.script({ op, rows });
  }

  fail(op: string, error: unknown): this {
    return this.script({ op, error });
  }

  /** Scripted responses not consumed yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** The operations called, in order. */
  ops(): string[] {
    return this.calls.map((call) => call.op);
  }

  callsTo(op: string): FakeCall[] {
    return this.calls.filter((call) => call.op === op);
  }

  async query<Row extends SqlRow = SqlRow>(statement: SqlStatement, values: readonly unknown[]): Promise<Row[]> {
    const call: FakeCall = { op: opOf(statement.name), name: statement.name, text: statement.text, values: [...values] };
    this.calls.push(call);
    if (this.closed) {
      this.problems.push(`query ${call.op} after close`);
      throw new Error('FakeSqlClient: query after close');
    }
    const next = this.queue.shift();
    if (!next) {
      this.problems.push(`no scripted response for ${call.op}`);
      throw new Error(`FakeSqlClient: no scripted response for ${call.op}`);
    }
    if (next.op !== undefined && next.op !== call.op) {
      this.problems.push(`expected ${next.op}, got ${call.op}`);
      throw new Error(`FakeSqlClient: expected ${next.op}, got ${call.op}`);
    }
    if ('error' in next) throw next.error;
    if ('run' in next) return (await next.run(call)) as Row[];
    return next.rows.map((row) => ({ ...row })) as Row[];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// Row builders, shaped like what node-postgres returns for the statements in statements.ts
// (bigint columns as strings, integers as numbers, times as fixed-format ISO strings).

export const T0 = '2025-01-01T00:00:00.000000Z';
export const T1 = '2025-01-01T00:01:00.000000Z';
export const DB_NOW = '2025-01-01T00:00:00.000123Z';

export function claimRow(overrides: SqlRow = {}): SqlRow {
  return {
    project_id: 'proj',
    tracker_id: 'local',
    work_item_id: 'item-1',
    fencing_token: '1',
    state: 'active',
    host_id: 'host-a',
    agent_id: 'agent',
    owner_id: 'host-a/agent',
    claimed_at: T0,
    expires_at: T1,
    last_heartbeat_at: null,
    heartbeat_count: 0,
    released_at: null,
    released_by: null,
    reclaimed_from_fencing_token: null,
    reclaimed_from_host_id: null,
    reclaimed_from_agent_id: null,
    reclaimed_from_owner_id: null,
    metadata: {},
    created_at: T0,
    updated_at: T0,
    db_now: DB_NOW,
    ...overrides,
  };
}

/** A readClaim row for an existing claim, with the statement's verdict and liveness. */
export function readRow(verdict: string, live: boolean, overrides: SqlRow = {}): SqlRow {
  return { ...claimRow(overrides), verdict, live };
}

/** A readClaim row when no claim exists: the LEFT JOIN yields nulls and the verdict missing. */
export function missingRow(dbNow = DB_NOW): SqlRow {
  const nulls = Object.fromEntries(Object.keys(claimRow()).map((key) => [key, null]));
  return { ...nulls, db_now: dbNow, verdict: 'missing', live: false };
}
