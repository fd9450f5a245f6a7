// Every command of the built binary, with --json, prints exactly one JSON object on stdout
// (success or failure) and never the database password. The command list is read from the
// binary's own --help, so a new command without a case here fails this test.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestDatabase } from '../support/database.js';
import { assertFreshBuild, cliPath } from '../trackers/fixtures/built.js';

let db: TestDatabase;
let dir: string;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, DEV_NEXUS_CLAIMS_DATABASE_URL: db.url, ...env }, timeout: 30_000 }, (error, stdout) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
    ),
  );
}

/** Leaf commands, as "group sub", from the binary's help. */
async function leafCommands(prefix: string[] = []): Promise<string[]> {
  const { stdout } = await run([...prefix, '--help']);
  // Only the "Commands:" block, up to the first blank line (examples follow it).
  const section = (stdout.split('Commands:\n')[1] ?? '').split('\n\n')[0] ?? '';
  const names = [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  if (prefix.length > 3) throw new Error(`command tree deeper than expected at ${prefix.join(' ')}`);
  if (names.length === 0) return [prefix.join(' ')];
  const leaves = await Promise.all(names.map((name) => leafCommands([...prefix, name])));
  return leaves.flat();
}

beforeAll(async () => {
  assertFreshBuild();
  db = await createTestSchema('sweep');
  dir = await mkdtemp(join(tmpdir(), 'dev-nexus-sweep-'));
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('--json on every command', () => {
  it('prints exactly one JSON object, with ok true or an error code, and no password', async () => {
    const root = join(dir, 'ws');
    const home = join(dir, 'home');
    await mkdir(root);
    const ws = [root, '--home', home];
    const cases: Record<string, string[][]> = {
      init: [['init', root, '--project-id', 'sweep', '--backend', 'postgres', '--home', home, '--schema', db.schema], ['init', root]],
      'claims schema-sql': [['claims', 'schema-sql', '--schema', 'sweep_x'], ['claims', 'schema-sql', '--schema', 'Bad']],
      'work-item add': [['work-item', 'add', root, '--id', 'one', '--title', 'first'], ['work-item', 'add', root, '--id', '../x', '--title', 'bad']],
      'work-item list': [['work-item', 'list', root]],
      'work-item show': [['work-item', 'show', root, 'one'], ['work-item', 'show', root, 'missing']],
      'work-item comment': [['work-item', 'comment', root, 'one', '--body', 'hello']],
      'work-item set-status': [['work-item', 'set-status', root, 'one', 'ready'], ['work-item', 'set-status', root, 'one', 'sideways']],
      'automation status': [['automation', 'status', ...ws, '--check-connection']],
      'work-item claim-next': [['work-item', 'claim-next', ...ws, '--host', 'h1'], ['work-item', 'claim-next', ...ws, '--host', 'h2']],
      'work-item claim-heartbeat': [['work-item', 'claim-heartbeat', root, 'one', '--home', home, '--lease-token', '00000000-0000-4000-8000-000000000000']],
      'work-item claim-release': [['work-item', 'claim-release', root, 'one', '--home', home, '--lease-token', 'not-a-uuid']],
      'claims inspect': [['claims', 'inspect', ...ws]],
      'claims audit': [['claims', 'audit', ...ws]],
      'automation launch': [['automation', 'launch', ...ws, '--host', 'h3']],
      'automation current-agent heartbeat': [['automation', 'current-agent', 'heartbeat', root]],
      'automation current-agent record': [['automation', 'current-agent', 'record', root, '--outcome', 'failed']],
      'worktree prepare': [['worktree', 'prepare', root]],
    };
    // mcp speaks the MCP protocol on stdout, not --json: tested in test/mcp/.
    const leaves = (await leafCommands()).filter((c) => c !== 'mcp');
    expect(leaves.sort()).toEqual(Object.keys(cases).sort());

    const password = new URL(db.url).password;
    const seen: Record<string, string[]> = {};
    for (const [command, variants] of Object.entries(cases)) {
      for (const args of variants) {
        if (command === 'automation launch') {
          // An agent that finishes at once, so launch runs end to end.
          const file = join(root, 'dev-nexus.project.json');
          const config = JSON.parse(await readFile(file, 'utf8'));
          config.automation.agent = { command: [process.execPath, '-e', '0'], mode: 'sync', timeoutMs: 60_000 };
          await writeFile(file, JSON.stringify(config));
          await run(['work-item', 'add', root, '--id', 'two', '--title', 'second', '--json']);
        }
        const result = await run([...args, '--json']);
        const lines = result.stdout.trim().split('\n');
        expect(lines, `${args.join(' ')}: ${result.stdout}`).toHaveLength(1);
        const json = JSON.parse(lines[0]!);
        expect(typeof json.ok).toBe('boolean');
        if (json.ok === false) expect(json.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        expect(result.code === 0 || json.ok === false || json.claim?.status === 'blocked' || json.status?.ready === false).toBe(true);
        expect(result.stdout).not.toContain(password);
        (seen[command] ??= []).push(json.ok ? 'ok' : json.error.code);
      }
    }
    console.log(`[json sweep] ${JSON.stringify(seen)}`);
  }, 120_000);
});
