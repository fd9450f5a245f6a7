// The DDL and grant script, checked as text (no database): identifier validation, schema
// qualification of every object reference, and a least-privilege grant script.
import { describe, expect, it } from 'vitest';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import {
  CLAIM_SCHEMA_VERSION,
  DEFAULT_CLAIM_SCHEMA,
  nexusPostgresClaimAuthoritySchemaSql,
  quoteIdentifier,
  renderClaimAuthorityGrantSql,
  renderClaimAuthoritySchemaSql,
} from '../../src/claims/postgres/schema.js';

function thrown(fn: () => unknown): ClaimAuthorityError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ClaimAuthorityError);
    return error as ClaimAuthorityError;
  }
  throw new Error('expected a ClaimAuthorityError');
}

const REFUSED: unknown[] = [
  'Public',
  'DEV_NEXUS',
  'dev-nexus',
  '1abc',
  '',
  'a'.repeat(64),
  'pg_x',
  'pg_catalog',
  'x;drop',
  'x;drop schema public cascade',
  'x"y',
  '"dev_nexus"',
  'x y',
  'dev.nexus',
  'schéma',
  'ñ',
  'データ',
  'dev_nexus\n',
  'dev_nexus\u0000',
  undefined,
  null,
  42,
];
const ACCEPTED = ['dev_nexus', '_x', 'a1', 'a', 'public', 'pgx', 'p_g', 'a'.repeat(63), 'x_pg_'];

describe('quoteIdentifier', () => {
  it.each(REFUSED.map((name) => [JSON.stringify(name) ?? String(name), name]))('refuses %s with invalid_input, without echoing it', (_shown, name) => {
    const error = thrown(() => quoteIdentifier(name));
    expect(error.code).toBe('invalid_input');
    if (typeof name === 'string' && name.length > 1) expect(error.message).not.toContain(name);
  });

  it.each(ACCEPTED)('accepts %s, double-quoted', (name) => {
    expect(quoteIdentifier(name)).toBe(`"${name}"`);
  });

  it('names the thing it checks in the message', () => {
    expect(thrown(() => quoteIdentifier('Bad', 'role name')).message).toMatch(/^role name /);
    expect(thrown(() => quoteIdentifier('Bad')).message).toMatch(/^schema name /);
  });
});

describe('renderClaimAuthoritySchemaSql', () => {
  it.each(REFUSED.filter((name): name is string => typeof name === 'string'))('refuses schema %j', (name) => {
    expect(thrown(() => renderClaimAuthoritySchemaSql(name)).code).toBe('invalid_input');
  });

  it.each(ACCEPTED)('renders schema %s', (name) => {
    expect(renderClaimAuthoritySchemaSql(name)).toContain(`CREATE SCHEMA IF NOT EXISTS "${name}";`);
  });

  it('nexusPostgresClaimAuthoritySchemaSql is the DDL for dev_nexus, also the default', () => {
    expect(DEFAULT_CLAIM_SCHEMA).toBe('dev_nexus');
    expect(nexusPostgresClaimAuthoritySchemaSql).toBe(renderClaimAuthoritySchemaSql('dev_nexus'));
    expect(renderClaimAuthoritySchemaSql()).toBe(nexusPostgresClaimAuthoritySchemaSql);
    expect(nexusPostgresClaimAuthoritySchemaSql).not.toBe(renderClaimAuthoritySchemaSql('abc'));
  });

  it('records the schema version', () => {
    expect(renderClaimAuthoritySchemaSql('abc')).toContain(`INSERT INTO "abc".schema_version (version) VALUES (${CLAIM_SCHEMA_VERSION})`);
  });

  it('never mentions another schema (no default, no public, no search_path)', () => {
    const sql = renderClaimAuthoritySchemaSql('abc');
    expect(sql).not.toContain('dev_nexus');
    expect(sql).not.toMatch(/\bpublic\b/i);
    expect(sql).not.toMatch(/search_path/i);
  });

  // Object references in DDL, with the object name captured. Each pattern must match at
  // least `min` times, so a reworded statement cannot make the scan vacuous.
  const REFERENCES: [string, RegExp, number][] = [
    ['CREATE TABLE', /\bCREATE\s+(?:UNLOGGED\s+|TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([^\s(]+)/gi, 3],
    ['CREATE INDEX ... ON', /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:\S+\s+)?ON\s+(?:ONLY\s+)?([^\s(]+)/gi, 1],
    ['CREATE FUNCTION', /\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([^\s(]+)/gi, 1],
    ['CREATE TRIGGER ... ON', /\bCREATE\s+(?:OR\s+REPLACE\s+)?TRIGGER\s+\S+[\s\S]*?\bON\s+([^\s(;]+)/gi, 1],
    ['DROP TRIGGER ... ON', /\bDROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?\S+\s+ON\s+([^\s(;]+)/gi, 1],
    ['EXECUTE FUNCTION|PROCEDURE', /\bEXECUTE\s+(?:FUNCTION|PROCEDURE)\s+([^\s(]+)/gi, 1],
    ['REFERENCES', /\bREFERENCES\s+([^\s(]+)/gi, 0],
    ['INSERT INTO', /\bINSERT\s+INTO\s+([^\s(]+)/gi, 1],
    ['ALTER TABLE', /\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([^\s(]+)/gi, 0],
    ['CREATE SEQUENCE|VIEW|TYPE', /\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:SEQUENCE|VIEW|TYPE)\s+(?:IF\s+NOT\s+EXISTS\s+)?([^\s(]+)/gi, 0],
  ];

  it.each(REFERENCES)('qualifies every %s reference with "abc".', (_what, pattern, min) => {
    const sql = renderClaimAuthoritySchemaSql('abc');
    const names = [...sql.matchAll(pattern)].map((match) => match[1] ?? '');
    expect(names.length).toBeGreaterThanOrEqual(min);
    for (const name of names) expect(name).toMatch(/^"abc"\.[a-z_][a-z0-9_]*$/);
  });

  it('the scan catches an unqualified reference (the patterns are not vacuous)', () => {
    const sql = renderClaimAuthoritySchemaSql('abc').replace('CREATE TABLE IF NOT EXISTS "abc".schema_version', 'CREATE TABLE IF NOT EXISTS schema_version');
    const names = [...sql.matchAll(REFERENCES[0]![1])].map((match) => match[1] ?? '');
    expect(names.some((name) => !name.startsWith('"abc".'))).toBe(true);
  });

  it('creates the three tables the statements use', () => {
    const sql = renderClaimAuthoritySchemaSql('abc');
    for (const table of ['schema_version', 'work_item_claims', 'work_item_claim_events']) {
      expect(sql).toContain(`CREATE TABLE IF NOT EXISTS "abc".${table} (`);
    }
  });

  it('is re-runnable: every CREATE is IF NOT EXISTS / OR REPLACE, or preceded by a DROP IF EXISTS', () => {
    const sql = renderClaimAuthoritySchemaSql('abc');
    const creates = sql.match(/\bCREATE\s+\S+(?:\s+\S+){0,3}/g) ?? [];
    expect(creates.length).toBeGreaterThanOrEqual(7);
    for (const create of creates) {
      if (/^CREATE\s+TRIGGER/.test(create)) expect(sql).toMatch(/DROP TRIGGER IF EXISTS work_item_claim_events_append_only ON "abc"\.work_item_claim_events;/);
      else expect(create).toMatch(/IF NOT EXISTS|OR REPLACE/);
    }
  });

  it('makes the events table append-only (trigger before UPDATE or DELETE)', () => {
    expect(renderClaimAuthoritySchemaSql('abc')).toMatch(/BEFORE UPDATE OR DELETE ON "abc"\.work_item_claim_events/);
  });
});

describe('renderClaimAuthorityGrantSql', () => {
  const grants = () => renderClaimAuthorityGrantSql('claims_app', 'abc');
  const statements = () => grants().split('\n').filter((line) => /^\s*(GRANT|REVOKE|ALTER|CREATE)\b/i.test(line));

  it('grants to the role, only on objects of the schema', () => {
    const lines = statements();
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line).toMatch(/^GRANT .+ TO "claims_app";$/);
      const target = /\bON\s+(?:SCHEMA\s+|SEQUENCE\s+|TABLE\s+)?(\S+)\s+TO\b/.exec(line)?.[1];
      expect(target).toMatch(/^"abc"(\.[a-z_]+)?$/);
    }
  });

  it.each(['DELETE', 'TRUNCATE', 'CREATE', 'ALL', 'REFERENCES', 'TRIGGER', 'SUPERUSER', 'OWNER'])('grants no %s', (privilege) => {
    for (const line of statements()) expect(line).not.toMatch(new RegExp(`\\b${privilege}\\b`, 'i'));
  });

  it('grants no UPDATE (nor anything but SELECT, INSERT) on the events table', () => {
    const onEvents = statements().filter((line) => /"abc"\.work_item_claim_events\b(?!_)/.test(line));
    expect(onEvents).toEqual(['GRANT SELECT, INSERT ON "abc".work_item_claim_events TO "claims_app";']);
  });

  it('grants what the authority runs: read/write claims, append events, use the sequence, read the version', () => {
    const text = grants();
    expect(text).toContain('GRANT USAGE ON SCHEMA "abc" TO "claims_app";');
    expect(text).toContain('GRANT SELECT ON "abc".schema_version TO "claims_app";');
    expect(text).toContain('GRANT SELECT, INSERT, UPDATE ON "abc".work_item_claims TO "claims_app";');
    expect(text).toContain('GRANT USAGE ON SEQUENCE "abc".work_item_claim_events_event_id_seq TO "claims_app";');
  });

  it('defaults to the dev_nexus schema', () => {
    expect(renderClaimAuthorityGrantSql('claims_app')).toContain('GRANT USAGE ON SCHEMA "dev_nexus" TO "claims_app";');
  });

  it.each(['Claims', 'claims-app', 'x";drop role postgres;--', 'pg_read_all_data', ''])('refuses role %j', (role) => {
    expect(thrown(() => renderClaimAuthorityGrantSql(role, 'abc')).code).toBe('invalid_input');
  });

  it('refuses a bad schema for the grants too', () => {
    expect(thrown(() => renderClaimAuthorityGrantSql('claims_app', 'Abc')).code).toBe('invalid_input');
  });
});
