// dev-nexus.project.json: every validation rule, through real files, and the messages a
// user reads (file, JSON path, what to do; never a secret).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { renderJsonSchemaFiles } from '../../src/config/json-schema.js';
import { loadProjectConfig, PROJECT_CONFIG_FILE, selectTracker, type ProjectConfig } from '../../src/config/project.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dev-nexus-project-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Json = Record<string, any>;

const base = (): Json => ({ projectId: 'proj', components: [{ id: 'main', trackers: [{ id: 'local', kind: 'local' }] }] });
const tracker = (id: string, extra: Json = {}): Json => ({ id, kind: 'local', ...extra });
const claims = (workItemClaims: Json): Json => ({ ...base(), automation: { workItemClaims } });
const agent = (value: Json, workItemClaims: Json = {}): Json => ({ ...base(), automation: { workItemClaims, agent: value } });

/** Write text as the project file of a fresh workspace; return the workspace and file. */
async function workspaceWith(text: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(root, `ws-${++n}-`));
  const file = join(dir, PROJECT_CONFIG_FILE);
  await writeFile(file, text);
  return { dir, file };
}

async function load(config: Json): Promise<ProjectConfig> {
  const { dir } = await workspaceWith(JSON.stringify(config, null, 2));
  return (await loadProjectConfig(dir)).config;
}

async function loadError(text: string): Promise<{ error: ConfigError; file: string }> {
  const { dir, file } = await workspaceWith(text);
  const error = await loadProjectConfig(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return { error: error as ConfigError, file };
}

// path: the JSON path the message must name; fix: what the message must tell the user.
const invalid: { name: string; config: Json; path: string; fix: RegExp }[] = [
  { name: 'projectId missing', config: { components: base().components }, path: 'projectId', fix: /is missing; add it/ },
  { name: 'projectId with a space', config: { ...base(), projectId: 'my project' }, path: 'projectId', fix: /not a valid project id: use 1 to 128 letters.*for example "my-project"/ },
  { name: 'projectId starting with "-"', config: { ...base(), projectId: '-x' }, path: 'projectId', fix: /use 1 to 128/ },
  { name: 'projectId of 129 characters', config: { ...base(), projectId: 'a'.repeat(129) }, path: 'projectId', fix: /use 1 to 128/ },
  { name: 'projectId a number', config: { ...base(), projectId: 7 }, path: 'projectId', fix: /must be a string, not a number; change the value/ },
  { name: '$schema not a string', config: { ...base(), $schema: 1 }, path: '$schema', fix: /must be a string/ },
  { name: 'components missing', config: { projectId: 'p' }, path: 'components', fix: /is missing; add it/ },
  { name: 'components empty', config: { projectId: 'p', components: [] }, path: 'components', fix: /at least one component; add \{ "id": "main"/ },
  { name: 'components an object', config: { projectId: 'p', components: {} }, path: 'components', fix: /must be an array, not an object/ },
  { name: 'component id invalid', config: { projectId: 'p', components: [{ id: 'a/b', trackers: [tracker('t')] }] }, path: 'components[0].id', fix: /not a valid component id.*"main"/ },
  {
    name: 'duplicate component ids',
    config: { projectId: 'p', components: [{ id: 'a', primary: true, trackers: [tracker('t')] }, { id: 'a', trackers: [tracker('t')] }] },
    path: 'components[1].id',
    fix: /duplicates the component id "a" of entry \[0\]; give every component a different id/,
  },
  {
    name: 'no primary among two components',
    config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t')] }, { id: 'b', trackers: [tracker('t')] }] },
    path: 'components',
    fix: /has no primary component; set "primary": true on exactly one entry/,
  },
  {
    name: 'two primary components',
    config: { projectId: 'p', components: [{ id: 'a', primary: true, trackers: [tracker('t')] }, { id: 'b', primary: true, trackers: [tracker('t')] }] },
    path: 'components',
    fix: /has 2 entries with "primary": true; set it on exactly one/,
  },
  { name: 'a lone component marked not primary', config: { projectId: 'p', components: [{ id: 'a', primary: false, trackers: [tracker('t')] }] }, path: 'components', fix: /has no primary component/ },
  { name: 'primary not a boolean', config: { projectId: 'p', components: [{ id: 'a', primary: 'yes', trackers: [tracker('t')] }] }, path: 'components[0].primary', fix: /must be a boolean, not a string/ },
  { name: 'trackers missing', config: { projectId: 'p', components: [{ id: 'a' }] }, path: 'components[0].trackers', fix: /is missing; add it/ },
  { name: 'trackers empty', config: { projectId: 'p', components: [{ id: 'a', trackers: [] }] }, path: 'components[0].trackers', fix: /at least one tracker; add/ },
  { name: 'tracker id invalid', config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('')] }] }, path: 'components[0].trackers[0].id', fix: /not a valid tracker id.*"local"/ },
  { name: 'tracker kind unknown', config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t', { kind: 'github' })] }] }, path: 'components[0].trackers[0].kind', fix: /must be "local"; set it to "local"/ },
  { name: 'tracker kind missing', config: { projectId: 'p', components: [{ id: 'a', trackers: [{ id: 't' }] }] }, path: 'components[0].trackers[0].kind', fix: /is missing; add it \("local"\)/ },
  {
    name: 'duplicate tracker ids',
    config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t', { default: true }), tracker('t')] }] },
    path: 'components[0].trackers[1].id',
    fix: /duplicates the tracker id "t" of entry \[0\]; give every tracker a different id/,
  },
  { name: 'no default among two trackers', config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t'), tracker('u')] }] }, path: 'components[0].trackers', fix: /has no default tracker; set "default": true on exactly one entry/ },
  {
    name: 'two default trackers',
    config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t', { default: true }), tracker('u', { default: true })] }] },
    path: 'components[0].trackers',
    fix: /has 2 entries with "default": true; set it on exactly one/,
  },
  { name: 'unknown key at the root', config: { ...base(), extra: 1 }, path: 'extra', fix: /unknown key "extra"; remove it or correct its spelling \(allowed here: \$schema, projectId, components, automation\)/ },
  { name: 'unknown key in a tracker', config: { projectId: 'p', components: [{ id: 'a', trackers: [tracker('t', { url: 'x' })] }] }, path: 'components[0].trackers[0].url', fix: /unknown key "url".*allowed here: id, kind, default/ },
  { name: 'unknown key in automation', config: { ...base(), automation: { claims: {} } }, path: 'automation.claims', fix: /unknown key "claims".*allowed here: workItemClaims, agent/ },
  { name: 'misspelt lease key', config: claims({ leaseMs: 5 }), path: 'automation.workItemClaims.leaseMs', fix: /unknown key "leaseMs".*allowed here: enabled, leaseDurationMs, heartbeatIntervalMs, authority/ },
  { name: 'automation not an object', config: { ...base(), automation: 'on' }, path: 'automation', fix: /must be an object, not a string/ },
  { name: 'enabled not a boolean', config: claims({ enabled: 'true' }), path: 'automation.workItemClaims.enabled', fix: /must be a boolean, not a string/ },
  { name: 'leaseDurationMs zero', config: claims({ leaseDurationMs: 0 }), path: 'automation.workItemClaims.leaseDurationMs', fix: /must be greater than 0 milliseconds; use for example 3600000/ },
  { name: 'leaseDurationMs negative', config: claims({ leaseDurationMs: -5 }), path: 'automation.workItemClaims.leaseDurationMs', fix: /greater than 0/ },
  { name: 'leaseDurationMs fractional', config: claims({ leaseDurationMs: 1.5 }), path: 'automation.workItemClaims.leaseDurationMs', fix: /must be a whole number of milliseconds; use for example 3600000/ },
  { name: 'leaseDurationMs a string', config: claims({ leaseDurationMs: '3600000' }), path: 'automation.workItemClaims.leaseDurationMs', fix: /must be a number, not a string/ },
  { name: 'leaseDurationMs beyond safe integers', config: claims({ leaseDurationMs: 2 ** 60 }), path: 'automation.workItemClaims.leaseDurationMs', fix: /whole number/ },
  { name: 'heartbeatIntervalMs zero', config: claims({ heartbeatIntervalMs: 0 }), path: 'automation.workItemClaims.heartbeatIntervalMs', fix: /greater than 0 milliseconds; use for example 1200000/ },
  { name: 'heartbeatIntervalMs fractional', config: claims({ heartbeatIntervalMs: 2.5 }), path: 'automation.workItemClaims.heartbeatIntervalMs', fix: /whole number/ },
  {
    name: 'heartbeat above half the lease',
    config: claims({ leaseDurationMs: 1000, heartbeatIntervalMs: 501 }),
    path: 'automation.workItemClaims.heartbeatIntervalMs',
    fix: /is 501 .* must be at most half of leaseDurationMs \(1000\).*set it to 500 or less, or raise leaseDurationMs/,
  },
  {
    name: 'default heartbeat above half a short lease',
    config: claims({ leaseDurationMs: 1_000_000 }),
    path: 'automation.workItemClaims.heartbeatIntervalMs',
    fix: /is 1200000 \(default 1200000\).*set it to 500000 or less/,
  },
  { name: 'authority not an object', config: claims({ authority: 'postgres' }), path: 'automation.workItemClaims.authority', fix: /must be an object/ },
  { name: 'backend unknown', config: claims({ authority: { backend: 'redis' } }), path: 'automation.workItemClaims.authority.backend', fix: /must be one of "optimistic_tracker", "postgres"; use one of those/ },
  {
    name: 'postgres backend without a profile',
    config: claims({ authority: { backend: 'postgres' } }),
    path: 'automation.workItemClaims.authority.postgres',
    fix: /backend "postgres" needs a host-local connection profile; add "postgres": \{ "connectionProfileId": "shared-claims" \}/,
  },
  { name: 'postgres block without connectionProfileId', config: claims({ authority: { backend: 'postgres', postgres: {} } }), path: 'automation.workItemClaims.authority.postgres.connectionProfileId', fix: /is missing; add it/ },
  {
    name: 'connectionProfileId invalid',
    config: claims({ authority: { backend: 'postgres', postgres: { connectionProfileId: 'shared claims' } } }),
    path: 'automation.workItemClaims.authority.postgres.connectionProfileId',
    fix: /not a valid connection profile id.*"shared-claims"/,
  },
  {
    name: 'unknown key in authority.postgres',
    config: claims({ authority: { backend: 'postgres', postgres: { connectionProfileId: 'p', host: 'db' } } }),
    path: 'automation.workItemClaims.authority.postgres.host',
    fix: /unknown key "host".*allowed here: connectionProfileId/,
  },
  { name: 'agent.command empty', config: agent({ command: [], timeoutMs: 1000 }), path: 'automation.agent.command', fix: /must name a program to run, as an argv array/ },
  { name: 'agent.command a string', config: agent({ command: 'my-agent --x', timeoutMs: 1000 }), path: 'automation.agent.command', fix: /must be an array, not a string/ },
  { name: 'agent.command with an empty argument', config: agent({ command: ['a', ''], timeoutMs: 1000 }), path: 'automation.agent.command[1]', fix: /must not hold an empty argument; remove it/ },
  { name: 'agent.command missing', config: agent({ timeoutMs: 1000 }), path: 'automation.agent.command', fix: /is missing; add it/ },
  { name: 'agent.mode unknown', config: agent({ command: ['a'], mode: 'background', timeoutMs: 1000 }), path: 'automation.agent.mode', fix: /must be one of "sync", "async"/ },
  { name: 'agent.timeoutMs missing', config: agent({ command: ['a'] }), path: 'automation.agent.timeoutMs', fix: /is missing; add it/ },
  { name: 'agent.timeoutMs zero', config: agent({ command: ['a'], timeoutMs: 0 }), path: 'automation.agent.timeoutMs', fix: /must be greater than 0 milliseconds; use for example/ },
  { name: 'agent.timeoutMs negative', config: agent({ command: ['a'], timeoutMs: -1 }), path: 'automation.agent.timeoutMs', fix: /greater than 0/ },
  { name: 'agent.timeoutMs fractional', config: agent({ command: ['a'], timeoutMs: 0.5 }), path: 'automation.agent.timeoutMs', fix: /whole number/ },
  {
    name: 'sync agent timeout not below the lease',
    config: agent({ command: ['a'], timeoutMs: 3_600_000 }, { enabled: true }),
    path: 'automation.agent.timeoutMs',
    fix: /must time out before the lease expires.*lower timeoutMs below 3600000 or raise leaseDurationMs/,
  },
  { name: 'unknown key in agent', config: agent({ command: ['a'], timeoutMs: 1, shell: true }), path: 'automation.agent.shell', fix: /unknown key "shell".*allowed here: command, mode, timeoutMs/ },
];

describe('dev-nexus.project.json validation', () => {
  it.each(invalid)('refuses $name, naming the file, $path and a fix', async ({ config, path, fix }) => {
    const { error, file } = await loadError(JSON.stringify(config, null, 2));
    expect(error.code).toBe('config_invalid');
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    const problem = error.problems.find((p) => p.path === path);
    expect(problem, `problems: ${JSON.stringify(error.problems)}`).toBeDefined();
    expect(problem!.message).toMatch(fix);
    expect(error.message).toContain(`  - ${path}: ${problem!.message}`);
  });

  it('reports every problem at once, not only the first', async () => {
    const config = {
      projectId: 'bad id',
      extra: true,
      components: [{ id: 'a', trackers: [tracker('t'), tracker('t')] }],
      automation: { workItemClaims: { leaseDurationMs: 0, heartbeatIntervalMs: 1.5, authority: { backend: 'postgres' } }, agent: { command: [], timeoutMs: -1 } },
    };
    const { error } = await loadError(JSON.stringify(config));
    expect(error.problems.map((p) => p.path).sort()).toEqual(
      [
        'projectId',
        'extra',
        'components[0].trackers',
        'components[0].trackers[1].id',
        'automation.workItemClaims.leaseDurationMs',
        'automation.workItemClaims.heartbeatIntervalMs',
        'automation.workItemClaims.authority.postgres',
        'automation.agent.command',
        'automation.agent.timeoutMs',
      ].sort(),
    );
    expect(error.message).toContain('(9 problems)');
  });

  it('accepts a sync agent whose timeout is below the lease, and any timeout while claims are disabled', async () => {
    expect((await load(agent({ command: ['a'], timeoutMs: 3_599_999 }, { enabled: true }))).automation.agent?.mode).toBe('sync');
    expect((await load(agent({ command: ['a'], timeoutMs: 7_200_000 }))).automation.agent?.timeoutMs).toBe(7_200_000);
    expect((await load(agent({ command: ['a'], mode: 'async', timeoutMs: 7_200_000 }, { enabled: true }))).automation.agent?.mode).toBe('async');
  });

  it('accepts a heartbeat of exactly half the lease', async () => {
    const config = await load(claims({ leaseDurationMs: 1000, heartbeatIntervalMs: 500 }));
    expect(config.automation.workItemClaims.heartbeatIntervalMs).toBe(500);
  });
});

describe('database URLs and passwords in the project file', () => {
  const secret = 'hunter2-s3cret';
  const url = `postgres://claims_user:${secret}@db.internal.example:5432/dev_nexus`;
  const cases: { name: string; config: Json; path: string }[] = [
    {
      name: 'a URL as connectionProfileId',
      config: claims({ authority: { backend: 'postgres', postgres: { connectionProfileId: url } } }),
      path: 'automation.workItemClaims.authority.postgres.connectionProfileId',
    },
    { name: 'a URL under an unknown key', config: { ...base(), databaseUrl: url }, path: 'databaseUrl' },
    {
      name: 'a postgresql:// URL deep inside unknown keys',
      config: claims({ authority: { backend: 'optimistic_tracker', postgres: { connectionProfileId: 'p', extra: { deep: [url.replace('postgres:', 'postgresql:')] } } } }),
      path: 'automation.workItemClaims.authority.postgres.extra.deep[0]',
    },
    { name: 'a key=value string with a password', config: { ...base(), projectId: `host=db.internal.example password=${secret}` }, path: 'projectId' },
    { name: 'a URL in the agent command', config: agent({ command: ['psql', url], timeoutMs: 1000 }), path: 'automation.agent.command[1]' },
    { name: 'a URL used as a key', config: { ...base(), [url]: true }, path: '["[redacted]"]' },
  ];

  it.each(cases)('refuses $name without echoing it', async ({ config, path }) => {
    const { error, file } = await loadError(JSON.stringify(config, null, 2));
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(file);
    const problem = error.problems.find((p) => p.path === path);
    expect(problem, `problems: ${JSON.stringify(error.problems)}`).toBeDefined();
    expect(problem!.message).toMatch(/holds a database URL or password.*remove it.*environment variable.*connectionStringEnv/);
    const everything = JSON.stringify({ message: error.message, problems: error.problems, json: error.toJSON() });
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('db.internal.example');
    expect(everything).not.toContain('claims_user');
  });

  it('reports the secret once, not again as an invalid id or unknown key', async () => {
    const { error } = await loadError(JSON.stringify({ ...base(), projectId: url }));
    expect(error.problems).toHaveLength(1);
  });
});

describe('malformed files', () => {
  it('names the line and column of a JSON syntax error', async () => {
    const { error, file } = await loadError('{\n  "projectId": "p",\n  "components": [],\n}\n');
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not valid JSON: .* at line 4, column 1; fix the JSON syntax there/);
  });

  it('locates an unexpected character without quoting the text around it', async () => {
    const text = '{"projectId": "p", "components": [], "x": "postgres://u:hunter2-s3cret@db.internal.example/x" oops}';
    const { error } = await loadError(text);
    expect(error.message).toContain(`at line 1, column ${text.indexOf('oops') + 1}`);
    expect(error.message).not.toContain('hunter2-s3cret');
    expect(error.message).not.toContain('db.internal.example');
  });

  it('says where an unexpected token is', async () => {
    const { error } = await loadError('{\n  "projectId": tru\n}');
    expect(error.message).toMatch(/unexpected character "\\n" at line 2, column 19/);
    expect(error.message).not.toContain('projectId');
  });

  it('reports a file that ends too early', async () => {
    const { error } = await loadError('{"projectId": "p"');
    expect(error.message).toMatch(/at the end of the file/);
  });

  it('reports an empty file', async () => {
    const { error } = await loadError('  \n');
    expect(error.message).toMatch(/is empty; write a JSON object/);
  });

  it('reports a JSON value that is not an object', async () => {
    const { error } = await loadError('[]');
    expect(error.problems[0]).toEqual({ path: '(root)', message: 'must be an object, not an array; change the value' });
  });

  it('reports a missing file as config_missing and says how to create it', async () => {
    const dir = await mkdtemp(join(root, 'empty-'));
    const error = (await loadProjectConfig(dir).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config_missing');
    expect(error.message).toContain(join(dir, PROJECT_CONFIG_FILE));
    expect(error.message).toContain(`dev-nexus init ${dir}`);
  });
});

describe('defaults', () => {
  it('fills in every default of a minimal file', async () => {
    const config = await load(base());
    expect(config.components[0]).toEqual({ id: 'main', primary: true, trackers: [{ id: 'local', kind: 'local', default: true }] });
    expect(config.automation).toEqual({
      workItemClaims: { enabled: false, leaseDurationMs: 3_600_000, heartbeatIntervalMs: 1_200_000, authority: { backend: 'optimistic_tracker' } },
    });
  });

  it('marks only the flagged component and tracker when there are several', async () => {
    const config = await load({
      projectId: 'p',
      components: [
        { id: 'a', trackers: [tracker('t')] },
        { id: 'b', primary: true, trackers: [tracker('t'), tracker('u', { default: true })] },
      ],
    });
    expect(config.components.map((c) => c.primary)).toEqual([false, true]);
    expect(config.components[0]!.trackers[0]!.default).toBe(true);
    expect(config.components[1]!.trackers.map((t) => t.default)).toEqual([false, true]);
  });

  it('accepts the spec example with $schema and the agent defaults', async () => {
    const config = await load({
      $schema: './node_modules/dev-nexus-claims/schemas/dev-nexus.project.schema.json',
      ...base(),
      automation: {
        workItemClaims: {
          enabled: true,
          leaseDurationMs: 3600000,
          heartbeatIntervalMs: 1200000,
          authority: { backend: 'postgres', postgres: { connectionProfileId: 'shared-claims' } },
        },
        agent: { command: ['my-agent', '--task'], timeoutMs: 1_800_000 },
      },
    });
    expect(config.automation.workItemClaims.authority).toEqual({ backend: 'postgres', postgres: { connectionProfileId: 'shared-claims' } });
    expect(config.automation.agent).toEqual({ command: ['my-agent', '--task'], mode: 'sync', timeoutMs: 1_800_000 });
  });

  it('accepts a byte order mark', async () => {
    const { dir } = await workspaceWith(`\uFEFF${JSON.stringify(base())}`);
    expect((await loadProjectConfig(dir)).config.projectId).toBe('proj');
  });
});

describe('selectTracker', () => {
  let config: ProjectConfig;
  beforeAll(async () => {
    config = await load({
      projectId: 'p',
      components: [
        { id: 'app', primary: true, trackers: [tracker('local'), tracker('ops', { default: true })] },
        { id: 'docs', trackers: [tracker('notes')] },
      ],
    });
  });

  it('defaults to the primary component and its default tracker', () => {
    const { component, tracker: chosen } = selectTracker(config);
    expect([component.id, chosen.id]).toEqual(['app', 'ops']);
  });

  it('selects by component and by tracker', () => {
    expect(selectTracker(config, { componentId: 'docs' }).tracker.id).toBe('notes');
    expect(selectTracker(config, { trackerId: 'local' }).tracker.id).toBe('local');
  });

  it('names the available components and trackers when the selection is unknown', () => {
    expect(() => selectTracker(config, { componentId: 'web' })).toThrow(/no component "web" in project p; use one of: app, docs/);
    expect(() => selectTracker(config, { componentId: 'docs', trackerId: 'local' })).toThrow(/no tracker "local" in component docs; use one of: notes/);
    try {
      selectTracker(config, { componentId: 'web' });
    } catch (error) {
      expect((error as ConfigError).code).toBe('unknown_component');
    }
  });
});

describe('shipped JSON Schemas', () => {
  it('equal the output generated from the zod schemas (regenerate: node scripts/generate-json-schemas.mjs)', async () => {
    for (const [name, text] of Object.entries(renderJsonSchemaFiles())) {
      const shipped = await readFile(new URL(`../../schemas/${name}`, import.meta.url), 'utf8');
      expect(shipped, `schemas/${name} is stale`).toBe(text);
    }
  });

  it('list the files in package.json so they are published', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schemas');
  });
});
