// dev-nexus.home.json: where it is found, every validation rule through real files, and
// that a connection string put where its variable NAME belongs is refused, never echoed.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { findProfile, HOME_CONFIG_FILE, loadHomeConfig, requireProfile, resolveHomeDir } from '../../src/config/home.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dev-nexus-home-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Json = Record<string, any>;

const profile = (extra: Json = {}): Json => ({
  id: 'shared-claims',
  backend: 'postgres',
  driver: 'node_postgres',
  connectionStringEnv: 'DEV_NEXUS_CLAIMS_DATABASE_URL',
  ...extra,
});
const withProfiles = (...profiles: Json[]): Json => ({ claimAuthorityProfiles: profiles });
const without = (key: string): Json => {
  const p = profile();
  delete p[key];
  return p;
};

async function homeWith(text: string): Promise<{ dir: string; file: string }> {
  const dir = join(root, `home-${++n}`);
  await mkdir(dir);
  const file = join(dir, HOME_CONFIG_FILE);
  await writeFile(file, text);
  return { dir, file };
}

async function loadError(config: Json | string): Promise<{ error: ConfigError; file: string }> {
  const { dir, file } = await homeWith(typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  const error = await loadHomeConfig(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return { error: error as ConfigError, file };
}

describe('resolveHomeDir', () => {
  const userHome = '/users/ada';
  it('prefers --home, then DEV_NEXUS_HOME, then ~/.dev-nexus', () => {
    expect(resolveHomeDir({ home: '/srv/a', env: { DEV_NEXUS_HOME: '/srv/b' }, userHome })).toBe('/srv/a');
    expect(resolveHomeDir({ env: { DEV_NEXUS_HOME: '/srv/b' }, userHome })).toBe('/srv/b');
    expect(resolveHomeDir({ env: {}, userHome })).toBe('/users/ada/.dev-nexus');
  });

  it('ignores an empty DEV_NEXUS_HOME, resolves relative paths and expands ~', () => {
    expect(resolveHomeDir({ env: { DEV_NEXUS_HOME: '' }, userHome })).toBe('/users/ada/.dev-nexus');
    expect(resolveHomeDir({ home: 'rel/home', env: {}, userHome })).toBe(resolve('rel/home'));
    expect(resolveHomeDir({ env: { DEV_NEXUS_HOME: '~/nexus' }, userHome })).toBe('/users/ada/nexus');
  });

  it('defaults to the real home directory and process.env', () => {
    const expected = process.env.DEV_NEXUS_HOME ? resolve(process.env.DEV_NEXUS_HOME) : join(homedir(), '.dev-nexus');
    expect(resolveHomeDir()).toBe(expected);
  });
});

describe('loading', () => {
  it('treats a missing home file as no profiles', async () => {
    const dir = join(root, 'no-such-home');
    const loaded = await loadHomeConfig(dir);
    expect(loaded).toEqual({ homeDir: dir, file: join(dir, HOME_CONFIG_FILE), exists: false, config: { claimAuthorityProfiles: [] } });
    expect(findProfile(loaded.config, 'shared-claims')).toBeUndefined();
  });

  it('loads the spec example and applies the schema default', async () => {
    const { dir } = await homeWith(JSON.stringify(withProfiles(profile({ schema: 'dev_nexus' }), profile({ id: 'other', connectionStringEnv: 'OTHER_URL' }))));
    const loaded = await loadHomeConfig(dir);
    expect(loaded.exists).toBe(true);
    expect(findProfile(loaded.config, 'shared-claims')).toEqual(profile({ schema: 'dev_nexus' }));
    expect(findProfile(loaded.config, 'other')?.schema).toBe('dev_nexus');
  });

  it('accepts a file with only $schema, or an empty object', async () => {
    for (const config of [{ $schema: './x.json' }, {}]) {
      const { dir } = await homeWith(JSON.stringify(config));
      expect((await loadHomeConfig(dir)).config.claimAuthorityProfiles).toEqual([]);
    }
  });

  it('requireProfile says which profiles exist and how to add the missing one', async () => {
    const { dir, file } = await homeWith(JSON.stringify(withProfiles(profile({ id: 'a' }), profile({ id: 'b' }))));
    const loaded = await loadHomeConfig(dir);
    expect(requireProfile(loaded, 'a').id).toBe('a');
    const error = (() => {
      try {
        requireProfile(loaded, 'shared-claims');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.code).toBe('config_missing');
    expect(error?.message).toContain(file);
    expect(error?.message).toMatch(/no claim authority profile "shared-claims" \(available: a, b\); add \{ "id": "shared-claims"/);
  });
});

const invalid: { name: string; config: Json; path: string; fix: RegExp }[] = [
  { name: 'profiles not an array', config: { claimAuthorityProfiles: {} }, path: 'claimAuthorityProfiles', fix: /must be an array, not an object; change the value/ },
  { name: 'a profile that is not an object', config: withProfiles('shared' as unknown as Json), path: 'claimAuthorityProfiles[0]', fix: /must be an object, not a string/ },
  { name: 'id missing', config: withProfiles(without('id')), path: 'claimAuthorityProfiles[0].id', fix: /is missing; add it/ },
  { name: 'id invalid', config: withProfiles(profile({ id: 'shared claims' })), path: 'claimAuthorityProfiles[0].id', fix: /not a valid profile id: use 1 to 128 .*"shared-claims"/ },
  { name: 'backend missing', config: withProfiles(without('backend')), path: 'claimAuthorityProfiles[0].backend', fix: /is missing; add it \("postgres"\)/ },
  { name: 'backend not postgres', config: withProfiles(profile({ backend: 'mysql' })), path: 'claimAuthorityProfiles[0].backend', fix: /must be "postgres"; set it to "postgres"/ },
  { name: 'driver missing', config: withProfiles(without('driver')), path: 'claimAuthorityProfiles[0].driver', fix: /is missing; add it \("node_postgres"\)/ },
  { name: 'driver unknown', config: withProfiles(profile({ driver: 'pg' })), path: 'claimAuthorityProfiles[0].driver', fix: /must be "node_postgres"; set it to "node_postgres"/ },
  { name: 'connectionStringEnv missing', config: withProfiles(without('connectionStringEnv')), path: 'claimAuthorityProfiles[0].connectionStringEnv', fix: /is missing; add it/ },
  {
    name: 'connectionStringEnv in lower case',
    config: withProfiles(profile({ connectionStringEnv: 'database_url' })),
    path: 'claimAuthorityProfiles[0].connectionStringEnv',
    fix: /must be the NAME of an environment variable .* not its value; for example "DEV_NEXUS_CLAIMS_DATABASE_URL"/,
  },
  { name: 'connectionStringEnv starting with a digit', config: withProfiles(profile({ connectionStringEnv: '1URL' })), path: 'claimAuthorityProfiles[0].connectionStringEnv', fix: /NAME of an environment variable/ },
  { name: 'connectionStringEnv with a $', config: withProfiles(profile({ connectionStringEnv: '$DATABASE_URL' })), path: 'claimAuthorityProfiles[0].connectionStringEnv', fix: /NAME of an environment variable/ },
  { name: 'schema with upper case', config: withProfiles(profile({ schema: 'DevNexus' })), path: 'claimAuthorityProfiles[0].schema', fix: /not a usable schema name: use a plain lower-case SQL identifier.*for example "dev_nexus"/ },
  { name: 'schema in the pg_ namespace', config: withProfiles(profile({ schema: 'pg_claims' })), path: 'claimAuthorityProfiles[0].schema', fix: /not starting with pg_/ },
  { name: 'schema of 64 characters', config: withProfiles(profile({ schema: 's'.repeat(64) })), path: 'claimAuthorityProfiles[0].schema', fix: /at most 63 characters/ },
  { name: 'schema with a quote', config: withProfiles(profile({ schema: 'a"; drop table x; --' })), path: 'claimAuthorityProfiles[0].schema', fix: /plain lower-case SQL identifier/ },
  { name: 'schema empty', config: withProfiles(profile({ schema: '' })), path: 'claimAuthorityProfiles[0].schema', fix: /plain lower-case SQL identifier/ },
  {
    name: 'duplicate profile ids',
    config: withProfiles(profile(), profile({ connectionStringEnv: 'OTHER' })),
    path: 'claimAuthorityProfiles[1].id',
    fix: /duplicates the profile id "shared-claims" of entry \[0\]; give every profile a different id or remove one/,
  },
  { name: 'unknown key at the root', config: { profiles: [] }, path: 'profiles', fix: /unknown key "profiles"; remove it or correct its spelling \(allowed here: \$schema, claimAuthorityProfiles\)/ },
  {
    name: 'unknown key in a profile',
    config: withProfiles(profile({ connectionTimeoutMs: 5 })),
    path: 'claimAuthorityProfiles[0].connectionTimeoutMs',
    fix: /unknown key "connectionTimeoutMs".*allowed here: id, backend, driver, connectionStringEnv, schema/,
  },
];

describe('dev-nexus.home.json validation', () => {
  it.each(invalid)('refuses $name, naming the file, $path and a fix', async ({ config, path, fix }) => {
    const { error, file } = await loadError(config);
    expect(error.code).toBe('config_invalid');
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    const problem = error.problems.find((p) => p.path === path);
    expect(problem, `problems: ${JSON.stringify(error.problems)}`).toBeDefined();
    expect(problem!.message).toMatch(fix);
    expect(error.message).toContain(`  - ${path}: ${problem!.message}`);
  });

  it('reports every problem of every profile at once', async () => {
    const { error } = await loadError(withProfiles(profile({ schema: 'X' }), profile({ driver: 'pg', extra: 1 })));
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['claimAuthorityProfiles[0].schema', 'claimAuthorityProfiles[1].driver', 'claimAuthorityProfiles[1].extra', 'claimAuthorityProfiles[1].id']),
    );
    expect(error.problems).toHaveLength(4);
  });

  it('names the line and column of a JSON syntax error', async () => {
    const { error, file } = await loadError('{\n  "claimAuthorityProfiles": [\n    { "id": "a" }\n    { "id": "b" }\n  ]\n}');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not valid JSON: expected ',' or ']' after array element at line 4, column 5/);
  });
});

describe('a connection string where its environment variable name belongs', () => {
  const secret = 'hunter2-s3cret';
  const cases: { name: string; value: string }[] = [
    { name: 'a postgres:// URL', value: `postgres://claims:${secret}@db.internal.example:5432/dev_nexus` },
    { name: 'a postgresql:// URL', value: `postgresql://claims:${secret}@db.internal.example/dev_nexus?sslmode=require` },
    { name: 'a key=value connection string', value: `host=db.internal.example user=claims password=${secret} dbname=dev_nexus` },
    { name: 'a URL without a password', value: 'postgres://db.internal.example/dev_nexus' },
  ];

  it.each(cases)('refuses $name without echoing it', async ({ value }) => {
    const { error, file } = await loadError(withProfiles(profile({ connectionStringEnv: value })));
    expect(error.message).toContain(file);
    expect(error.problems).toEqual([
      {
        path: 'claimAuthorityProfiles[0].connectionStringEnv',
        message: expect.stringMatching(/holds a connection string instead of an environment variable name; set it to a variable name such as "DEV_NEXUS_CLAIMS_DATABASE_URL" and export the connection string/),
      },
    ]);
    const everything = JSON.stringify(error.toJSON());
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('db.internal.example');
  });

  it('refuses a connection string under any other key, without echoing it', async () => {
    const { error } = await loadError(withProfiles(profile({ connectionString: `postgres://u:${secret}@db.internal.example/x` })));
    const problem = error.problems.find((p) => p.path === 'claimAuthorityProfiles[0].connectionString');
    expect(problem?.message).toMatch(/holds a database URL or password; remove it/);
    expect(JSON.stringify(error.toJSON())).not.toContain(secret);
  });
});
