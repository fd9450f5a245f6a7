// dev-nexus init: the use case with real files, then the built command through a real process.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { findProfile, HOME_CONFIG_FILE, loadHomeConfig } from '../../src/config/home.js';
import { initWorkspace, projectIdFromPath, type InitOptions } from '../../src/config/init.js';
import { loadProjectConfig, PROJECT_CONFIG_FILE, selectTracker } from '../../src/config/project.js';

let outer: string;
let n = 0;
let ws: string;
let home: string;

beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'dev-nexus-init-'));
});
afterAll(async () => {
  await rm(outer, { recursive: true, force: true });
});
beforeEach(async () => {
  ws = join(outer, `ws-${++n}`);
  home = join(outer, `home-${n}`);
  await mkdir(ws);
});

const SECRET = 'hunter2-s3cret';
const URL_WITH_PASSWORD = `postgres://claims:${SECRET}@db.internal.example:5432/dev_nexus`;

async function initError(options: Partial<InitOptions>): Promise<ConfigError> {
  const error = await initWorkspace({ workspaceRoot: ws, env: {}, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

/** Every file under dir, so a test can prove nothing was written (or left behind). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of await readdir(dir)) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

describe('initWorkspace', () => {
  it('writes a default project config that loads: one primary component, one default local tracker', async () => {
    const result = await initWorkspace({ workspaceRoot: ws, env: {} });
    expect(result.project).toMatchObject({ file: join(ws, PROJECT_CONFIG_FILE), action: 'created' });
    expect(result.home).toBeUndefined();
    const { config } = await loadProjectConfig(ws);
    expect(config.projectId).toBe(`ws-${n}`);
    expect(selectTracker(config)).toEqual({
      component: { id: 'main', primary: true, trackers: [{ id: 'local', kind: 'local', default: true }] },
      tracker: { id: 'local', kind: 'local', default: true },
    });
    expect(config.automation.workItemClaims).toEqual({
      enabled: false,
      leaseDurationMs: 3_600_000,
      heartbeatIntervalMs: 1_200_000,
      authority: { backend: 'optimistic_tracker' },
    });
    expect(Object.keys(await snapshot(ws))).toEqual([PROJECT_CONFIG_FILE]);
  });

  it('derives a valid project id from the directory name', () => {
    expect(projectIdFromPath('/src/My Project!')).toBe('My-Project-');
    expect(projectIdFromPath('/src/.hidden')).toBe('hidden');
    expect(projectIdFromPath('/src/___')).toBe('project');
    expect(projectIdFromPath(`/src/${'x'.repeat(200)}`)).toHaveLength(128);
  });

  it('writes the postgres backend and a host profile that belong together, without any connection string', async () => {
    const result = await initWorkspace({ workspaceRoot: ws, projectId: 'shop', backend: 'postgres', home, leaseDurationMs: 600_000, heartbeatIntervalMs: 200_000 });
    const { config } = await loadProjectConfig(ws);
    expect(config.automation.workItemClaims).toEqual({
      enabled: true,
      leaseDurationMs: 600_000,
      heartbeatIntervalMs: 200_000,
      authority: { backend: 'postgres', postgres: { connectionProfileId: 'shared-claims' } },
    });
    const loaded = await loadHomeConfig(home);
    expect(findProfile(loaded.config, 'shared-claims')).toEqual({
      id: 'shared-claims',
      backend: 'postgres',
      driver: 'node_postgres',
      connectionStringEnv: 'DEV_NEXUS_CLAIMS_DATABASE_URL',
      schema: 'dev_nexus',
    });
    expect(result.home).toMatchObject({ file: join(home, HOME_CONFIG_FILE), action: 'created' });
    expect(result.warnings).toEqual([]);
    expect(result.nextSteps.join('\n')).toMatch(/export DEV_NEXUS_CLAIMS_DATABASE_URL/);
    const written = JSON.stringify([await snapshot(ws), await snapshot(home)]);
    expect(written).not.toMatch(/postgres(ql)?:\/\/|password/i);
    expect(statSync(join(home, HOME_CONFIG_FILE)).mode & 0o077).toBe(0);
  });

  it('uses --profile, --connection-string-env and --schema for both files', async () => {
    await initWorkspace({ workspaceRoot: ws, backend: 'postgres', home, profileId: 'team-db', connectionStringEnv: 'TEAM_DB_URL', schema: 'team_claims' });
    const { config } = await loadProjectConfig(ws);
    expect(config.automation.workItemClaims.authority.postgres?.connectionProfileId).toBe('team-db');
    expect(findProfile((await loadHomeConfig(home)).config, 'team-db')).toMatchObject({ connectionStringEnv: 'TEAM_DB_URL', schema: 'team_claims' });
  });

  it('warns when the profile added is not the one the project uses, or is unused', async () => {
    const mismatch = await initWorkspace({ workspaceRoot: ws, backend: 'postgres', connectionProfileId: 'a', profileId: 'b', home });
    expect(mismatch.warnings).toEqual(['the project uses connection profile "a" but the profile added is "b"']);
    const unused = await initWorkspace({ workspaceRoot: ws, home, profileId: 'c', force: true });
    expect(unused.warnings).toEqual(['profile "c" is unused until automation.workItemClaims.authority.backend is "postgres"']);
  });

  it('resolves the home from DEV_NEXUS_HOME when a profile flag is given without --home', async () => {
    await initWorkspace({ workspaceRoot: ws, profileId: 'p', env: { DEV_NEXUS_HOME: home } });
    expect(findProfile((await loadHomeConfig(home)).config, 'p')).toBeDefined();
  });

  it('never overwrites the project file without force, and overwrites it with force', async () => {
    await initWorkspace({ workspaceRoot: ws, env: {} });
    const before = await snapshot(ws);
    const error = await initError({ backend: 'postgres', home });
    expect(error.code).toBe('config_exists');
    expect(error.message).toContain(join(ws, PROJECT_CONFIG_FILE));
    expect(error.message).toMatch(/already exists; keep it, or rerun with --force/);
    expect(await snapshot(ws)).toEqual(before);
    expect(existsSync(home)).toBe(false);

    const forced = await initWorkspace({ workspaceRoot: ws, backend: 'postgres', env: {}, force: true });
    expect(forced.project.action).toBe('overwritten');
    expect((await loadProjectConfig(ws)).config.automation.workItemClaims.authority.backend).toBe('postgres');
    expect(Object.keys(await snapshot(ws))).toEqual([PROJECT_CONFIG_FILE]);
  });

  it('merges a new profile into an existing home file and keeps what was there', async () => {
    await mkdir(home);
    const existing = { $schema: './schema.json', claimAuthorityProfiles: [{ id: 'old', backend: 'postgres', driver: 'node_postgres', connectionStringEnv: 'OLD_URL' }] };
    await writeFile(join(home, HOME_CONFIG_FILE), JSON.stringify(existing));
    const result = await initWorkspace({ workspaceRoot: ws, home, profileId: 'new' });
    expect(result.home?.action).toBe('added');
    const loaded = await loadHomeConfig(home);
    expect(loaded.config.$schema).toBe('./schema.json');
    expect(loaded.config.claimAuthorityProfiles.map((p) => p.id)).toEqual(['old', 'new']);
  });

  it('refuses a duplicate profile id without force and replaces it with force', async () => {
    await initWorkspace({ workspaceRoot: ws, home, profileId: 'p' });
    const homeBefore = await snapshot(home);
    await rm(join(ws, PROJECT_CONFIG_FILE));
    const error = await initError({ home, profileId: 'p', connectionStringEnv: 'NEW_URL' });
    expect(error.code).toBe('config_exists');
    expect(error.message).toContain(join(home, HOME_CONFIG_FILE));
    expect(error.message).toMatch(/already has a claim authority profile "p"; choose another id with --profile, or rerun with --force/);
    expect(await snapshot(home)).toEqual(homeBefore);
    expect(existsSync(join(ws, PROJECT_CONFIG_FILE))).toBe(false);

    const replaced = await initWorkspace({ workspaceRoot: ws, home, profileId: 'p', connectionStringEnv: 'NEW_URL', force: true });
    expect(replaced.home?.action).toBe('replaced');
    const profiles = (await loadHomeConfig(home)).config.claimAuthorityProfiles;
    expect(profiles).toEqual([expect.objectContaining({ id: 'p', connectionStringEnv: 'NEW_URL' })]);
  });

  it('never rewrites an invalid home file, even with force', async () => {
    await mkdir(home);
    await writeFile(join(home, HOME_CONFIG_FILE), '{"claimAuthorityProfiles": [{"id": "x"}]}');
    const before = await snapshot(home);
    const error = await initError({ home, force: true });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(join(home, HOME_CONFIG_FILE));
    expect(await snapshot(home)).toEqual(before);
    expect(existsSync(join(ws, PROJECT_CONFIG_FILE))).toBe(false);
  });

  it('refuses a connection string given as the variable name, writes nothing and never echoes it', async () => {
    const error = await initError({ backend: 'postgres', home, connectionStringEnv: URL_WITH_PASSWORD });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toMatch(/claimAuthorityProfiles\[0\]\.connectionStringEnv: holds a connection string instead of an environment variable name/);
    expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
    expect(error.message).not.toContain('db.internal.example');
    expect(await snapshot(ws)).toEqual({});
    expect(existsSync(home)).toBe(false);
  });

  it('refuses a database URL as the connection profile id without echoing it', async () => {
    const error = await initError({ backend: 'postgres', connectionProfileId: URL_WITH_PASSWORD });
    expect(error.message).toContain(join(ws, PROJECT_CONFIG_FILE));
    expect(error.message).toMatch(/automation\.workItemClaims\.authority\.postgres\.connectionProfileId: holds a database URL or password/);
    expect(error.message).not.toContain(SECRET);
    expect(await snapshot(ws)).toEqual({});
  });

  const badValues: { name: string; options: Partial<InitOptions>; path: string; fix: RegExp }[] = [
    { name: 'a heartbeat above half the lease', options: { leaseDurationMs: 1000, heartbeatIntervalMs: 600 }, path: 'automation.workItemClaims.heartbeatIntervalMs', fix: /set it to 500 or less/ },
    { name: 'a zero lease', options: { leaseDurationMs: 0 }, path: 'automation.workItemClaims.leaseDurationMs', fix: /greater than 0/ },
    { name: 'a fractional heartbeat', options: { heartbeatIntervalMs: 1.5 }, path: 'automation.workItemClaims.heartbeatIntervalMs', fix: /whole number/ },
    { name: 'an invalid project id', options: { projectId: 'a b' }, path: 'projectId', fix: /not a valid project id/ },
    { name: 'an invalid schema name', options: { home: 'HOME', schema: 'Bad-Name' }, path: 'claimAuthorityProfiles[0].schema', fix: /plain lower-case SQL identifier/ },
    { name: 'an invalid profile id', options: { home: 'HOME', profileId: 'a/b' }, path: 'claimAuthorityProfiles[0].id', fix: /not a valid profile id/ },
  ];

  it.each(badValues)('refuses $name before writing anything', async ({ options, path, fix }) => {
    const error = await initError({ ...options, ...(options.home ? { home } : {}) });
    expect(error.code).toBe('config_invalid');
    expect(error.problems.find((p) => p.path === path)?.message).toMatch(fix);
    expect(await snapshot(ws)).toEqual({});
    expect(existsSync(home)).toBe(false);
  });

  it('refuses a workspace root that does not exist', async () => {
    const error = await initError({ workspaceRoot: join(outer, 'missing') });
    expect(error.code).toBe('config_missing');
    expect(error.message).toMatch(/missing is not an existing directory; create it first/);
  });
});

// ---- the built command (Node 20 cannot run TypeScript, so it needs a fresh dist/)

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

function assertFreshBuild(): void {
  const sourcesOf = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourcesOf(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const sources = [...sourcesOf(join(repoRoot, 'src', 'config')), ...['init.ts', 'main.ts', 'output.ts'].map((f) => join(repoRoot, 'src', 'cli', f))];
  for (const source of sources) {
    const built = join(repoRoot, 'dist', relative(join(repoRoot, 'src'), source)).replace(/\.ts$/, '.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
      throw new Error(`${relative(repoRoot, built)} is missing or older than its source: run \`npx tsc -p tsconfig.build.json\` first (make test does)`);
    }
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  // DEV_NEXUS_HOME is cleared so no test can touch the real ~/.dev-nexus by accident.
  const env = { ...process.env, DEV_NEXUS_HOME: join(outer, 'env-home') };
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, 'init', ...args], { timeout: 30_000, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Exactly one line on stdout, and it is a JSON object. */
function onlyJson(run: Run): Record<string, any> {
  const lines = run.stdout.split('\n').filter((l) => l.length > 0);
  expect(lines, run.stdout).toHaveLength(1);
  const value = JSON.parse(lines[0]!);
  expect(value).toBeTypeOf('object');
  return value;
}

describe('dev-nexus init (built CLI)', () => {
  beforeAll(() => assertFreshBuild());

  it('--json prints exactly one JSON object and exits 0; a second run exits 1 with config_exists', async () => {
    const first = await cli(ws, '--backend', 'postgres', '--home', home, '--json');
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const created = onlyJson(first);
    expect(created).toMatchObject({
      ok: true,
      project: { file: join(ws, PROJECT_CONFIG_FILE), action: 'created' },
      home: { file: join(home, HOME_CONFIG_FILE), action: 'created', profile: { id: 'shared-claims' } },
    });
    expect((await loadProjectConfig(ws)).config.automation.workItemClaims.authority.postgres?.connectionProfileId).toBe('shared-claims');

    const second = await cli(ws, '--json');
    expect(second.code).toBe(1);
    expect(onlyJson(second)).toEqual({ ok: false, error: { code: 'config_exists', message: expect.stringContaining('--force') } });

    const forced = await cli(ws, '--force', '--lease-duration-ms', '600000', '--heartbeat-interval-ms', '300000', '--json');
    expect(forced.code).toBe(0);
    expect(onlyJson(forced).project.action).toBe('overwritten');
  });

  it('prints readable text without --json', async () => {
    const run = await cli(ws, '--project-id', 'shop');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^created .*dev-nexus\.project\.json \(project shop, backend optimistic_tracker, claims disabled\)\n$/);
  });

  it('reports bad flags as one JSON error with exit code 1', async () => {
    const backend = await cli(ws, '--backend', 'redis', '--json');
    expect(backend.code).toBe(1);
    expect(onlyJson(backend)).toEqual({ ok: false, error: { code: 'invalid_input', message: '--backend must be optimistic_tracker or postgres' } });
    const lease = await cli(ws, '--lease-duration-ms', 'an hour', '--json');
    expect(onlyJson(lease).error.code).toBe('invalid_input');
    const heartbeat = await cli(ws, '--lease-duration-ms', '1000', '--heartbeat-interval-ms', '900', '--json');
    expect(heartbeat.code).toBe(1);
    expect(onlyJson(heartbeat).error.message).toMatch(/automation\.workItemClaims\.heartbeatIntervalMs: is 900 .*set it to 500 or less/);
    expect(existsSync(join(ws, PROJECT_CONFIG_FILE))).toBe(false);
  });

  it('never echoes a connection string passed as --connection-string-env, in JSON or text', async () => {
    for (const json of [true, false]) {
      const run = await cli(ws, '--home', home, '--connection-string-env', URL_WITH_PASSWORD, ...(json ? ['--json'] : []));
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toMatch(/holds a connection string instead of an environment variable name/);
      expect(run.stdout + run.stderr).not.toContain(SECRET);
      expect(run.stdout + run.stderr).not.toContain('db.internal.example');
      if (json) expect(onlyJson(run).ok).toBe(false);
      else expect(run.stdout).toBe('');
    }
  });

  it('has --help with an example', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: dev-nexus init \[options\] <workspace-root>/);
    expect(run.stdout).toMatch(/Examples:\n {2}dev-nexus init \.\n/);
  });
});
