// The host-local config, dev-nexus.home.json in the dev-nexus home directory. It holds what
// differs per host: claim authority profiles, which name the ENVIRONMENT VARIABLE that
// carries a connection string, never the connection string itself.
//
// The home directory is, in order: the --home <path> argument, the DEV_NEXUS_HOME
// environment variable, ~/.dev-nexus. A missing home file means "no profiles", not an error.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_CLAIM_SCHEMA, quoteIdentifier } from '../claims/postgres/schema.js';
import { ConfigError, parseJsonText, validateConfig } from './errors.js';
import { idSchema } from './project.js';

export const HOME_CONFIG_FILE = 'dev-nexus.home.json';
export const HOME_ENV = 'DEV_NEXUS_HOME';
export const DEFAULT_HOME_DIR_NAME = '.dev-nexus';
export const DEFAULT_CONNECTION_STRING_ENV = 'DEV_NEXUS_CLAIMS_DATABASE_URL';

export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

const schemaName = z
  .string()
  .refine((name) => isSqlIdentifier(name), {
    error: 'is not a usable schema name: use a plain lower-case SQL identifier (a-z, 0-9 and _, starting with a letter or _, at most 63 characters, not starting with pg_), for example "dev_nexus"',
  });

export const claimAuthorityProfileSchema = z
  .strictObject({
    id: idSchema('profile id', 'shared-claims').describe('Referenced by automation.workItemClaims.authority.postgres.connectionProfileId.'),
    backend: z.literal('postgres'),
    driver: z.literal('node_postgres').describe('The optional pg peer dependency.'),
    connectionStringEnv: z
      .string()
      .regex(ENV_NAME_PATTERN, {
        error: `must be the NAME of an environment variable (A-Z, 0-9 and _, not starting with a digit), not its value; for example "${DEFAULT_CONNECTION_STRING_ENV}"`,
      })
      .describe('Name of the environment variable that holds the connection string. The secret itself stays in the environment.'),
    schema: schemaName.default(DEFAULT_CLAIM_SCHEMA).describe('PostgreSQL schema of the claim tables. Default dev_nexus.'),
  })
  .describe('A claim authority on this host.');

export const homeConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this file\'s JSON Schema, for editors.'),
    claimAuthorityProfiles: z
      .array(claimAuthorityProfileSchema)
      .default([])
      .superRefine((profiles, ctx) => {
        if (!Array.isArray(profiles)) return;
        const seen = new Map<unknown, number>();
        profiles.forEach((profile, index) => {
          const id = (profile as { id?: unknown })?.id;
          const first = seen.get(id);
          if (typeof id !== 'string' || first === undefined) return void seen.set(id, index);
          ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicates the profile id "${id}" of entry [${first}]; give every profile a different id or remove one` });
        });
      }, { when: () => true }),
  })
  .describe('dev-nexus host-local config (dev-nexus.home.json). Holds environment variable NAMES, never secrets.');

export type HomeConfigInput = z.input<typeof homeConfigSchema>;
export type HomeConfig = z.output<typeof homeConfigSchema>;
export type ClaimAuthorityProfile = HomeConfig['claimAuthorityProfiles'][number];

export interface LoadedHomeConfig {
  homeDir: string;
  file: string;
  /** False when there is no home file: then there are no profiles. */
  exists: boolean;
  config: HomeConfig;
}

export interface HomeDirOptions {
  /** The --home argument. */
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** The user's home directory (for tests). */
  userHome?: string;
}

/** The dev-nexus home directory: --home, else $DEV_NEXUS_HOME, else ~/.dev-nexus. Always absolute. */
export function resolveHomeDir(options: HomeDirOptions = {}): string {
  const userHome = options.userHome ?? os.homedir();
  const chosen = options.home || (options.env ?? process.env)[HOME_ENV] || path.join(userHome, DEFAULT_HOME_DIR_NAME);
  // A quoted "~/x" in an env file reaches us unexpanded; expand it like a shell would.
  const expanded = chosen === '~' || chosen.startsWith('~/') ? path.join(userHome, chosen.slice(1)) : chosen;
  return path.resolve(expanded);
}

export function homeConfigPath(homeDir: string): string {
  return path.join(path.resolve(homeDir), HOME_CONFIG_FILE);
}

/** Read and validate <homeDir>/dev-nexus.home.json; a missing file yields no profiles. */
export async function loadHomeConfig(homeDir: string): Promise<LoadedHomeConfig> {
  const file = homeConfigPath(homeDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { homeDir: path.dirname(file), file, exists: false, config: { claimAuthorityProfiles: [] } };
    throw new ConfigError('config_invalid', `${file} cannot be read (${code ?? 'unknown error'}); check that it is a readable file`, file);
  }
  return { homeDir: path.dirname(file), file, exists: true, config: parseHomeConfig(text, file) };
}

export function parseHomeConfig(text: string, file: string): HomeConfig {
  return validateHomeConfig(parseJsonText(text, file), file);
}

export function validateHomeConfig(data: unknown, file: string): HomeConfig {
  return validateConfig(homeConfigSchema, data, { file, secretMessage: homeSecretMessage });
}

function homeSecretMessage(jsonPath: readonly PropertyKey[]): string {
  if (jsonPath[jsonPath.length - 1] === 'connectionStringEnv') {
    return `holds a connection string instead of an environment variable name; set it to a variable name such as "${DEFAULT_CONNECTION_STRING_ENV}" and export the connection string in that variable on this host`;
  }
  return `holds a database URL or password; remove it: profiles name the environment variable that holds the connection string ("connectionStringEnv"), never the secret itself`;
}

/** The profile with this id, or undefined when this host has none. */
export function findProfile(home: HomeConfig, id: string): ClaimAuthorityProfile | undefined {
  return home.claimAuthorityProfiles.find((profile) => profile.id === id);
}

/** Like findProfile, but a missing profile is an error that says how to add it. */
export function requireProfile(home: LoadedHomeConfig, id: string): ClaimAuthorityProfile {
  const profile = findProfile(home.config, id);
  if (profile) return profile;
  const ids = home.config.claimAuthorityProfiles.map((p) => p.id);
  const available = ids.length > 0 ? `available: ${ids.join(', ')}` : 'it has no profiles';
  throw new ConfigError(
    'config_missing',
    `${home.file} has no claim authority profile "${id}" (${available}); add { "id": "${id}", "backend": "postgres", "driver": "node_postgres", "connectionStringEnv": "${DEFAULT_CONNECTION_STRING_ENV}", "schema": "${DEFAULT_CLAIM_SCHEMA}" } to its "claimAuthorityProfiles" array`,
    home.file,
  );
}

function isSqlIdentifier(name: string): boolean {
  try {
    quoteIdentifier(name);
    return true;
  } catch {
    return false;
  }
}
