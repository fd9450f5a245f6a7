// End to end through the built dev-nexus binary against a real PostgreSQL: two hosts race,
// release and heartbeat by lease token, readiness, inspect and audit. Every --json output is
// exactly one JSON object, and no output holds the database password or another owner's lease token.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { assertFreshBuild, cliPath } from '../trackers/fixtures/built.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, any>;
}

let db: TestDatabase;
let dir: string;
const outputs: string[] = [];
const ENV = 'DEV_NEXUS_CLAIMS_DATABASE_URL';

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, [ENV]: db.url, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      outputs.push(stdout, stderr);
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      let json: Record<string, any> = {};
      if (args.includes('--json')) {
        // Exactly one JSON object on stdout, and nothing else.
        const lines = stdout.trim().split('\n');
        expect(lines).toHaveLength(1);
        json = JSON.parse(lines[0]!);
        expect(typeof json).toBe('object');
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

async function host(name: string, projectId: string) {
  const root = join(dir, name, 'workspace');
  const home = join(dir, name, 'home');
  await mkdir(root, { recursive: true });
  const init = await cli(['init', root, '--project-id', projectId, '--backend', 'postgres', '--home', home, '--connection-string-env', ENV, '--schema', db.schema, '--lease-duration-ms', '60000', '--heartbeat-interval-ms', '20000', '--json']);
  expect(init.code).toBe(0);
  return { root, home };
}

beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('cli');
  dir = await mkdtemp(join(tmpdir(), 'dev-nexus-cli-'));
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dev-nexus claims CLI', () => {
  it('two hosts race claim-next for one item: one claimed, one lost_race seeing the winner fencing token; release and heartbeat by lease token', async () => {
    const a = await host('a', 'race');
    const b = await host('b', 'race');
    for (const ws of [a, b]) expect((await cli(['work-item', 'add', ws.root, '--id', 'item-1', '--title', 'contended', '--json'])).code).toBe(0);

    const [ra, rb] = await Promise.all([
      cli(['work-item', 'claim-next', a.root, '--home', a.home, '--host', 'host-a', '--json']),
      cli(['work-item', 'claim-next', b.root, '--home', b.home, '--host', 'host-b', '--json']),
    ]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    const results = [ra.json, rb.json];
    const winner = results.find((r) => r.claim.status === 'claimed')!;
    const loser = results.find((r) => r.claim.status === 'lost_race')!;
    expect(winner).toBeDefined();
    expect(loser).toBeDefined();
    expect(loser.claim.authorityClaim.fencingToken).toBe(winner.claim.authorityClaim.fencingToken);
    expect(loser.claim.lostTo[0]).toMatchObject({ workItemId: 'item-1', fencingToken: winner.claim.authorityClaim.fencingToken });
    const leaseToken: string = winner.claim.owner.leaseToken;
    expect(JSON.stringify(loser)).not.toContain(leaseToken);
    expect(winner.claim.owner).toMatchObject({ leaseToken: expect.any(String), claimedAt: expect.any(String), expiresAt: expect.any(String) });

    const ws = winner === ra.json ? a : b;
    const fencing = String(winner.claim.authorityClaim.fencingToken);
    const wrong = await cli(['work-item', 'claim-release', ws.root, 'item-1', '--home', ws.home, '--lease-token', leaseToken, '--fencing-token', String(Number(fencing) + 1), '--json']);
    expect(wrong.code).toBe(3);
    expect(wrong.json).toMatchObject({ ok: false, error: { code: 'fencing_token_mismatch' } });

    const beat = await cli(['work-item', 'claim-heartbeat', ws.root, 'item-1', '--home', ws.home, '--lease-token', leaseToken, '--fencing-token', fencing, '--lease-duration-ms', '120000', '--json']);
    expect(beat.code).toBe(0);
    expect(beat.json.heartbeat.claim.expiresAt > winner.claim.owner.expiresAt).toBe(true);

    // The token may come from the environment instead of argv (where ps would show it).
    const released = await cli(['work-item', 'claim-release', ws.root, 'item-1', '--home', ws.home, '--fencing-token', fencing, '--json'], { DEV_NEXUS_CLAIM_LEASE_TOKEN: leaseToken });
    expect(released.json).toMatchObject({ ok: true, release: { status: 'released', claim: { state: 'released' } } });
    const old = await cli(['work-item', 'claim-heartbeat', ws.root, 'item-1', '--home', ws.home, '--lease-token', leaseToken, '--json']);
    expect(old.code).toBe(3);
    expect(old.json.error.code).toBe('released');

    const inspect = await cli(['claims', 'inspect', ws.root, '--home', ws.home, '--json']);
    expect(inspect.json.inspect.released.map((c: any) => c.identity.workItemId)).toContain('item-1');
    const audit = await cli(['claims', 'audit', ws.root, '--home', ws.home, '--json']);
    expect(audit.code).toBe(0);
    expect(audit.json).toMatchObject({ ok: true, audit: { ok: true, violations: [] } });
    expect(audit.json.audit.grants).toBeGreaterThanOrEqual(1);
  });

  it('automation status reports readiness, checks the connection on request, and exits 4 when not ready', async () => {
    const ws = await host('status', 'status');
    const ok = await cli(['automation', 'status', ws.root, '--home', ws.home, '--check-connection', '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json.status).toMatchObject({ backend: 'postgres', postgresProfileId: 'shared-claims', profileExists: true, connectionStringEnvPresent: true, adapterAvailable: true, ready: true, connection: { reachable: true, schemaVersion: 1 } });
    const missing = await cli(['automation', 'status', ws.root, '--home', ws.home, '--json'], { [ENV]: '' });
    expect(missing.code).toBe(4);
    expect(missing.json.status.blockers[0].code).toBe('connection_string_env_missing');
    const claim = await cli(['work-item', 'claim-next', ws.root, '--home', ws.home, '--host', 'h', '--json'], { [ENV]: '' });
    expect(claim.code).toBe(4);
    expect(claim.json).toMatchObject({ ok: true, claim: { status: 'blocked' } });
    const text = await cli(['automation', 'status', ws.root, '--home', ws.home]);
    expect(text.stdout).toMatch(/ready:\s+yes/);
  });

  it('a wrong password or an unreachable database never shows the connection string or password', async () => {
    const ws = await host('secret', 'secret');
    const url = new URL(db.url);
    url.password = 'Hunter2-never-printed';
    for (const args of [['automation', 'status', ws.root, '--home', ws.home, '--check-connection'], ['work-item', 'claim-next', ws.root, '--home', ws.home, '--host', 'h']]) {
      for (const json of [[], ['--json']]) {
        const run = await cli([...args, ...json], { [ENV]: url.toString() });
        expect(run.code).toBe(4);
        expect(run.stdout + run.stderr).not.toContain('Hunter2-never-printed');
        expect(run.stdout + run.stderr).not.toContain(url.toString());
      }
    }
  });

  it('usage errors are one JSON object under --json, with exit code 2', async () => {
    const run = await cli(['work-item', 'claim-release', dir, 'x', '--json']);
    expect(run.code).toBe(2);
    expect(run.json.error.message).toContain('DEV_NEXUS_CLAIM_LEASE_TOKEN');
    const noHost = await cli(['work-item', 'claim-next', dir, '--json']);
    expect(noHost.code).toBe(2);
    expect(run.json).toMatchObject({ ok: false, error: { code: 'usage_error' } });
    const bad = await cli(['work-item', 'claim-release', dir, 'x', '--lease-token', 'nope', '--fencing-token', '-1', '--json']);
    expect(bad.json).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('no output of any command above held the database password', () => {
    const password = new URL(db.url).password;
    expect(password.length).toBeGreaterThan(3);
    for (const output of outputs) expect(output).not.toContain(password);
  });
});
