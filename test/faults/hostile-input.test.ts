// 6. Hostile input, fuzzed with fast-check (well over 10,000 cases per run): config files,
// work-item ids, schema names, lease and fencing tokens, and CLI arguments. Each case gets a
// clear error (or is valid), nothing is written outside the workspace and home, and nothing
// already stored changes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimAuthorityError } from '../../src/claims/errors.js';
import type { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { quoteIdentifier } from '../../src/claims/postgres/schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { validateHomeConfig } from '../../src/config/home.js';
import { validateProjectConfig } from '../../src/config/project.js';
import { TrackerError } from '../../src/trackers/errors.js';
import { openLocalTracker } from '../../src/trackers/local/index.js';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { assertFreshBuild, cliPath } from '../trackers/fixtures/built.js';
import { recordScenario } from './support/summary.js';

const SECRET = 'hostile-Passw0rd';
const HOSTILE_STRINGS = [
  '../../x', '..', '.', '/etc/passwd', 'a/b', 'a\\b', 'a\u0000b', '\u0000', '', ' ', 'x'.repeat(5000), '$(touch /tmp/pwned)', '`id`', 'a;rm -rf /',
  '|cat', '&&', "'", '"', '\u202e\u0041', 'é', '日本語', '🙂', 'CON', 'nul', '-rf', '--help', '%00', '\n', `postgres://u:${SECRET}@h/db`, `password=${SECRET}`,
];
const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 50 }));
const hostileValue = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.anything({ maxDepth: 2 }));

let dir: string;
let db: TestDatabase;
let authority: PostgresClaimAuthority;
let cases = 0;

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-nexus-hostile-'));
  db = await createTestSchema('hostile');
  authority = await db.authority();
});
afterAll(async () => {
  recordScenario({ scenario: 'hostile input (fuzzed)', faults: cases, violations: 0, detail: `${cases} cases` });
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

function expectCleanConfigOutcome(run: () => unknown, file: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(file);
    expect(message).not.toContain(SECRET);
  }
}

describe('6. hostile input', () => {
  it('project and home configs: valid, or a ConfigError naming the file, never a secret', () => {
    const file = '/ws/dev-nexus.project.json';
    const projectLike = fc.record(
      {
        projectId: hostileValue,
        components: fc.oneof(hostileValue, fc.array(fc.record({ id: hostileValue, primary: hostileValue, trackers: fc.oneof(hostileValue, fc.array(fc.record({ id: hostileValue, kind: hostileValue, default: hostileValue }, { requiredKeys: [] }))) }, { requiredKeys: [] }), { maxLength: 3 })),
        automation: fc.oneof(hostileValue, fc.record({ workItemClaims: fc.oneof(hostileValue, fc.record({ enabled: hostileValue, leaseDurationMs: hostileValue, heartbeatIntervalMs: hostileValue, authority: hostileValue }, { requiredKeys: [] })), agent: hostileValue }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(fc.oneof(hostileValue, projectLike), (data) => {
      cases += 1;
      expectCleanConfigOutcome(() => validateProjectConfig(data, file), file);
    }), { numRuns: 3000 });
    const home = '/home/dev-nexus.home.json';
    const profile = fc.record({ id: hostileValue, backend: hostileValue, driver: hostileValue, connectionStringEnv: hostileValue, schema: hostileValue }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(hostileValue, fc.record({ claimAuthorityProfiles: fc.oneof(hostileValue, fc.array(profile, { maxLength: 3 })) }, { requiredKeys: [] })), (data) => {
      cases += 1;
      expectCleanConfigOutcome(() => validateHomeConfig(data, home), home);
    }), { numRuns: 2000 });
  });

  it('work-item ids: valid and inside the workspace, or invalid_work_item_id; nothing outside written, nothing stored changed', async () => {
    const root = join(dir, 'ids', 'workspace');
    await mkdir(root, { recursive: true });
    await writeFile(join(dir, 'ids', 'sentinel.txt'), 'outside');
    const tracker = openLocalTracker(root, { trackerId: 'local' });
    await tracker.add({ id: 'stored', title: 'already here' });
    const storedBefore = await readFile(tracker.fileFor('stored'), 'utf8');
    const outsideBefore = (await listTree(join(dir, 'ids'))).filter((p) => !p.startsWith('workspace'));
    await fc.assert(fc.asyncProperty(hostileString, async (id) => {
      cases += 1;
      try {
        const item = await tracker.add({ id, title: 'fuzz' });
        expect(item.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
        expect(item.id).not.toContain('..');
      } catch (error) {
        expect(error).toBeInstanceOf(TrackerError);
        expect(['invalid_work_item_id', 'work_item_exists']).toContain((error as TrackerError).code);
      }
      await tracker.get(id).catch((error: unknown) => expect(error).toBeInstanceOf(TrackerError));
    }), { numRuns: 2000 });
    expect(await readFile(tracker.fileFor('stored'), 'utf8')).toBe(storedBefore);
    expect((await listTree(join(dir, 'ids'))).filter((p) => !p.startsWith('workspace'))).toEqual(outsideBefore);
  });

  it('schema names: a plain lower-case identifier, or invalid_input', () => {
    fc.assert(fc.property(hostileString, (name) => {
      cases += 1;
      try {
        expect(quoteIdentifier(name)).toBe(`"${name}"`);
        expect(name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
      } catch (error) {
        expect((error as ClaimAuthorityError).code).toBe('invalid_input');
      }
    }), { numRuns: 2000 });
  });

  it('lease and fencing tokens: invalid_input or a rejection; the stored claim never changes', async () => {
    const identity = { projectId: 'hostile', trackerId: 'local', workItemId: 'held' };
    const leaseToken = randomUUID();
    await authority.claim({ identity, owner: { hostId: 'h', agentId: null, ownerId: 'h' }, leaseToken, leaseDurationMs: 600_000 });
    const row = async () => (await db.admin.query(`SELECT row_to_json(c)::text AS j FROM "${db.schema}".work_item_claims c WHERE work_item_id = 'held'`)).rows[0].j as string;
    const before = await row();
    const token = fc.oneof(hostileString, fc.uuid(), fc.constant(leaseToken.toUpperCase()));
    const fencing = fc.oneof(fc.constant(undefined), fc.integer(), fc.double(), hostileValue);
    await fc.assert(fc.asyncProperty(token, fencing, fc.constantFrom('heartbeat', 'release', 'verify'), async (t, f, op) => {
      cases += 1;
      const proof = { identity, leaseToken: t as string, fencingToken: f as number };
      try {
        const result = op === 'heartbeat' ? await authority.heartbeat({ ...proof, leaseDurationMs: 1000 }) : op === 'release' ? await authority.release(proof) : await authority.verify(proof);
        expect(['rejected', 'token_mismatch', 'fencing_token_mismatch']).toContain(result.status);
      } catch (error) {
        expect((error as ClaimAuthorityError).code).toBe('invalid_input');
        // A token is a secret: the message describes it, never repeats it.
        if (String(t).length >= 8) expect((error as Error).message).not.toContain(String(t));
      }
    }), { numRuns: 2000 });
    expect(await row()).toBe(before);
  });

  it('CLI arguments: a clear JSON error and a non-zero exit; nothing written outside the workspace and home; stored items unchanged', async () => {
    assertFreshBuild();
    const base = join(dir, 'cli');
    const root = join(base, 'workspace');
    const home = join(base, 'home');
    await mkdir(root, { recursive: true });
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, DEV_NEXUS_CLAIMS_DATABASE_URL: db.url }, timeout: 20_000 }, (error, stdout) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    expect((await run(['init', root, '--project-id', 'hostile', '--backend', 'postgres', '--home', home, '--schema', db.schema, '--json'])).code).toBe(0);
    expect((await run(['work-item', 'add', root, '--id', 'stored', '--title', 'kept', '--json'])).code).toBe(0);
    const stored = await readFile(join(root, '.dev-nexus', 'work-items', 'stored.json'), 'utf8');
    const before = await listTree(base);
    // NUL cannot be passed in argv; --help anywhere asks for help (commander), which is not an error.
    const hostileArg = fc.constantFrom(...HOSTILE_STRINGS.filter((s) => !s.includes('\u0000') && s.length < 1000 && s !== '--help'));
    const commands = fc.oneof(
      hostileArg.map((id) => ['work-item', 'show', root, id]),
      hostileArg.map((id) => ['work-item', 'add', root, '--id', id, '--title', 'x']),
      hostileArg.map((id) => ['work-item', 'set-status', root, 'stored', id]),
      fc.tuple(hostileArg, hostileArg).map(([id, token]) => ['work-item', 'claim-release', root, id, '--home', home, '--lease-token', token]),
      hostileArg.map((token) => ['work-item', 'claim-heartbeat', root, 'stored', '--home', home, '--lease-token', token, '--fencing-token', token]),
      hostileArg.map((schema) => ['claims', 'schema-sql', '--schema', schema]),
      hostileArg.map((ms) => ['work-item', 'claim-next', root, '--home', home, '--host', 'h', '--lease-duration-ms', ms]),
      hostileArg.map((path) => ['automation', 'status', path, '--home', home]),
    );
    const samples = fc.sample(commands, { numRuns: 120, seed: 7 });
    let outsideWrites = 0;
    for (let i = 0; i < samples.length; i += 6) {
      await Promise.all(samples.slice(i, i + 6).map(async (args) => {
        cases += 1;
        const result = await run([...args, '--json']);
        const lines = result.stdout.trim().split('\n');
        expect(lines).toHaveLength(1);
        const json = JSON.parse(lines[0]!);
        if (result.code !== 0) expect(json).toMatchObject({ ok: false, error: { code: expect.any(String), message: expect.any(String) } });
        expect(result.stdout).not.toContain(SECRET);
        expect(result.stdout).not.toContain(new URL(db.url).password);
      }));
    }
    const after = await listTree(base);
    const unexpected = after.filter((p) => !before.includes(p) && !p.startsWith(join('workspace', '.dev-nexus')));
    outsideWrites += unexpected.length;
    expect(unexpected).toEqual([]);
    expect(await readFile(join(root, '.dev-nexus', 'work-items', 'stored.json'), 'utf8')).toBe(stored);
    expect(outsideWrites).toBe(0);
  }, 120_000);
});
