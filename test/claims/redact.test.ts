// Secrets never leave their owner: redact() and passwordOf().
import { describe, expect, it } from 'vitest';
import { REDACTED, passwordOf, redact } from '../../src/claims/redact.js';

describe('redact', () => {
  it.each<[string, string, string[]]>([
    // [input, expected output, strings that must be gone]
    ['connect postgres://app:Sup3rSecret@db.internal:5432/claims failed', `connect postgres://${REDACTED}@db.internal:5432/claims failed`, ['Sup3rSecret', 'app:']],
    ['postgresql://app:Sup3rSecret@db/claims', `postgresql://${REDACTED}@db/claims`, ['Sup3rSecret']],
    ['POSTGRES://App:Sup3rSecret@db/claims', `POSTGRES://${REDACTED}@db/claims`, ['Sup3rSecret']],
    ['postgres://app:p%40ss%3Aw0rd%2F!@db/claims', `postgres://${REDACTED}@db/claims`, ['p%40ss', 'w0rd']],
    ['postgres://app:pa$$~w*rd(1)@[::1]:5432/claims', `postgres://${REDACTED}@[::1]:5432/claims`, ['pa$$~w*rd(1)']],
    ['postgres://onlyuser@db/claims', `postgres://${REDACTED}@db/claims`, ['onlyuser']],
    ['postgres://:Sup3rSecret@db/claims', `postgres://${REDACTED}@db/claims`, ['Sup3rSecret']],
    ['two: postgres://a:Secret111@h1/x and postgresql://b:Secret222@h2/y', `two: postgres://${REDACTED}@h1/x and postgresql://${REDACTED}@h2/y`, ['Secret111', 'Secret222']],
    ['(postgres://a:Secret111@h1/x)', `(postgres://${REDACTED}@h1/x)`, ['Secret111']],
    ['host=db user=app password=Sup3rSecret dbname=claims', `host=db user=app password=${REDACTED} dbname=claims`, ['Sup3rSecret']],
    ["host=db password='two words' dbname=claims", `host=db password=${REDACTED} dbname=claims`, ['two words', 'words']],
    ['host=db password="two words" dbname=claims', `host=db password=${REDACTED} dbname=claims`, ['two words']],
    ['host=db PASSWORD = Sup3rSecret', `host=db PASSWORD = ${REDACTED}`, ['Sup3rSecret']],
    ['PGPASSWORD=Sup3rSecret npm start', `PGPASSWORD=${REDACTED} npm start`, ['Sup3rSecret']],
    ['postgres://app@db/claims?sslmode=require&password=Sup3rSecret&x=1', `postgres://${REDACTED}@db/claims?sslmode=require&password=${REDACTED}&x=1`, ['Sup3rSecret']],
  ])('redacts %s', (input, expected, gone) => {
    const out = redact(input);
    expect(out).toBe(expected);
    for (const secret of gone) expect(out).not.toContain(secret);
  });

  it.each([
    'no secrets here',
    'work item item-1 is held by host-a until 2025-01-01T00:00:00.000000Z',
    'see https://example.com/docs for details',
    'email me at someone@example.com',
    'the password is required',
  ])('leaves %j unchanged', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('replaces every listed secret wherever it occurs', () => {
    const out = redact('token 3f2a9c1e-5b7d and again 3f2a9c1e-5b7d, then hunter22', ['3f2a9c1e-5b7d', 'hunter22']);
    expect(out).toBe(`token ${REDACTED} and again ${REDACTED}, then ${REDACTED}`);
  });

  it('treats listed secrets literally, not as patterns', () => {
    expect(redact('a.b*c a-b-c', ['a.b*c'])).toBe(`${REDACTED} a-b-c`);
    expect(redact('p$1(x)', ['$1(x)'])).toBe(`p${REDACTED}`);
  });

  it('ignores undefined, empty and shorter-than-3 secrets', () => {
    expect(redact('ab abc', [undefined, '', 'ab'])).toBe('ab abc');
    expect(redact('ab abc', ['abc'])).toBe(`ab ${REDACTED}`);
  });

  it('redacts a listed connection string as a whole, and its password elsewhere', () => {
    const url = 'postgres://app:p%40ss!w0rd@db:5432/claims';
    const out = redact(`connecting to ${url}: password p@ss!w0rd rejected`, [url, 'p@ss!w0rd']);
    expect(out).toBe(`connecting to ${REDACTED}: password ${REDACTED} rejected`);
    expect(out).not.toContain('db:5432');
  });

  it('is idempotent', () => {
    const once = redact('postgres://app:Sup3rSecret@db/x password=Sup3rSecret', ['Sup3rSecret']);
    expect(redact(once, ['Sup3rSecret'])).toBe(once);
  });
});

describe('passwordOf', () => {
  it.each<[string, string | undefined]>([
    ['postgres://app:Sup3rSecret@db:5432/claims', 'Sup3rSecret'],
    ['postgresql://app:Sup3rSecret@db/claims', 'Sup3rSecret'],
    ['postgres://app:p%40ss%3Aw0rd%2F%25@db/claims', 'p@ss:w0rd/%'],
    ['postgres://app:caf%C3%A9@db/claims', 'café'],
    ['postgres://app:pa$$~w*rd@db/claims', 'pa$$~w*rd'],
    ['postgres://app@db/claims', undefined],
    ['postgres://db/claims', undefined],
    ['host=db user=app password=Sup3rSecret dbname=claims', 'Sup3rSecret'],
    ["host=db password='two words' dbname=claims", 'two words'],
    ['host=db password="two words" dbname=claims', 'two words'],
    ["host=db password = 'spaced'", 'spaced'],
    ['host=db PASSWORD=Upper', 'Upper'],
    ["host=db password=''", ''],
    ['host=db user=app dbname=claims', undefined],
    ['', undefined],
  ])('%j → %j', (connectionString, expected) => {
    expect(passwordOf(connectionString)).toBe(expected);
  });

  it('key=value passwords are taken literally (no percent-decoding outside URLs)', () => {
    expect(passwordOf('host=db password=p%40ss')).toBe('p%40ss');
  });
});
