// Use case: write a starting project config and, optionally, add a claim authority profile
// to this host's home file. Everything is validated before anything is written, so a
// refused init leaves both files as they were. Neither file ever receives a connection
// string: a profile names the environment variable that holds it.
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CLAIM_SCHEMA } from '../claims/postgres/schema.js';
import { ConfigError } from './errors.js';
import {
  type ClaimAuthorityProfile,
  type HomeConfig,
  DEFAULT_CONNECTION_STRING_ENV,
  findProfile,
  loadHomeConfig,
  resolveHomeDir,
  validateHomeConfig,
} from './home.js';
import {
  type ClaimBackend,
  type ProjectConfigInput,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LEASE_DURATION_MS,
  projectConfigPath,
  validateProjectConfig,
} from './project.js';

export const DEFAULT_CONNECTION_PROFILE_ID = 'shared-claims';
export const DEFAULT_COMPONENT_ID = 'main';
export const DEFAULT_TRACKER_ID = 'local';

export interface InitOptions {
  workspaceRoot: string;
  /** Default: the workspace directory's name, made into a valid id. */
  projectId?: string;
  /** Choosing a backend also enables work-item claims; without one, claims stay disabled. */
  backend?: ClaimBackend;
  connectionProfileId?: string;
  leaseDurationMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * The --home argument. A profile is added to the home file when this or any of
   * profileId, connectionStringEnv, schema is given (home then resolves as usual).
   */
  home?: string;
  profileId?: string;
  connectionStringEnv?: string;
  schema?: string;
  /** Overwrite an existing project file and replace a profile with the same id. */
  force?: boolean;
  /** For DEV_NEXUS_HOME resolution; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface InitResult {
  project: { file: string; action: 'created' | 'overwritten'; config: ProjectConfigInput };
  home?: { file: string; action: 'created' | 'added' | 'replaced'; profile: ClaimAuthorityProfile };
  /** Things that are valid but probably not what was meant. */
  warnings: string[];
  /** What the operator still has to do on each host. */
  nextSteps: string[];
}

interface HomePlan {
  file: string;
  action: 'created' | 'added' | 'replaced';
  profile: ClaimAuthorityProfile;
  config: HomeConfig;
}

export async function initWorkspace(options: InitOptions): Promise<InitResult> {
  const root = await requireDirectory(options.workspaceRoot);
  const projectFile = projectConfigPath(root);
  const project = startingProjectConfig(root, options);
  validateProjectConfig(project, projectFile);
  const projectExists = await exists(projectFile);
  if (projectExists && !options.force) {
    throw new ConfigError('config_exists', `${projectFile} already exists; keep it, or rerun with --force to overwrite it`, projectFile);
  }
  const home = wantsProfile(options) ? await planHome(options, connectionProfileOf(project)) : undefined;

  await writeJsonAtomically(projectFile, project, { overwrite: Boolean(options.force), mode: 0o644 });
  if (home) {
    await mkdir(path.dirname(home.file), { recursive: true, mode: 0o700 });
    await writeJsonAtomically(home.file, home.config, { overwrite: true, mode: 0o600 });
  }
  return {
    project: { file: projectFile, action: projectExists ? 'overwritten' : 'created', config: project },
    ...(home ? { home: { file: home.file, action: home.action, profile: home.profile } } : {}),
    ...advice(project, home?.profile),
  };
}

/** The workspace directory's name as a project id: invalid characters become "-". */
export function projectIdFromPath(workspaceRoot: string): string {
  const name = path.basename(path.resolve(workspaceRoot));
  const id = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return id || 'project';
}

function startingProjectConfig(root: string, options: InitOptions): ProjectConfigInput {
  const backend = options.backend ?? 'optimistic_tracker';
  const profileId =
    options.connectionProfileId ?? (backend === 'postgres' ? (options.profileId ?? DEFAULT_CONNECTION_PROFILE_ID) : undefined);
  return {
    projectId: options.projectId ?? projectIdFromPath(root),
    components: [
      { id: DEFAULT_COMPONENT_ID, primary: true, trackers: [{ id: DEFAULT_TRACKER_ID, kind: 'local', default: true }] },
    ],
    automation: {
      workItemClaims: {
        enabled: options.backend !== undefined,
        leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
        authority: { backend, ...(profileId ? { postgres: { connectionProfileId: profileId } } : {}) },
      },
    },
  };
}

function connectionProfileOf(project: ProjectConfigInput): string | undefined {
  return project.automation?.workItemClaims?.authority?.postgres?.connectionProfileId;
}

function wantsProfile(options: InitOptions): boolean {
  return [options.home, options.profileId, options.connectionStringEnv, options.schema].some((v) => v !== undefined);
}

// Merge the new profile into the existing home file (validated first: an invalid file is
// never rewritten, it may hold other hosts' profiles the user still needs).
async function planHome(options: InitOptions, projectProfileId: string | undefined): Promise<HomePlan> {
  const loaded = await loadHomeConfig(resolveHomeDir({ home: options.home, env: options.env ?? process.env }));
  const profile: ClaimAuthorityProfile = {
    id: options.profileId ?? projectProfileId ?? DEFAULT_CONNECTION_PROFILE_ID,
    backend: 'postgres',
    driver: 'node_postgres',
    connectionStringEnv: options.connectionStringEnv ?? DEFAULT_CONNECTION_STRING_ENV,
    schema: options.schema ?? DEFAULT_CLAIM_SCHEMA,
  };
  const existing = findProfile(loaded.config, profile.id);
  if (existing && !options.force) {
    throw new ConfigError(
      'config_exists',
      `${loaded.file} already has a claim authority profile "${profile.id}"; choose another id with --profile, or rerun with --force to replace it`,
      loaded.file,
    );
  }
  const others = loaded.config.claimAuthorityProfiles.filter((p) => p.id !== profile.id);
  const config = validateHomeConfig({ ...loaded.config, claimAuthorityProfiles: [...others, profile] }, loaded.file);
  const action = !loaded.exists ? 'created' : existing ? 'replaced' : 'added';
  return { file: loaded.file, action, profile: findProfile(config, profile.id) ?? profile, config };
}

function advice(project: ProjectConfigInput, profile: ClaimAuthorityProfile | undefined): Pick<InitResult, 'warnings' | 'nextSteps'> {
  const authority = project.automation?.workItemClaims?.authority;
  const projectProfileId = authority?.postgres?.connectionProfileId;
  const warnings: string[] = [];
  const nextSteps: string[] = [];
  if (profile && projectProfileId && profile.id !== projectProfileId) {
    warnings.push(`the project uses connection profile "${projectProfileId}" but the profile added is "${profile.id}"`);
  }
  if (profile && authority?.backend !== 'postgres') {
    warnings.push(`profile "${profile.id}" is unused until automation.workItemClaims.authority.backend is "postgres"`);
  }
  if (authority?.backend === 'postgres') {
    const env = profile?.connectionStringEnv ?? DEFAULT_CONNECTION_STRING_ENV;
    if (!profile) nextSteps.push(`on each host, add claim authority profile "${projectProfileId}" to dev-nexus.home.json (dev-nexus init --home <path>)`);
    nextSteps.push(`on each host, export ${env} with the PostgreSQL connection string`);
    nextSteps.push(`create the schema once: dev-nexus claims schema-sql --schema ${profile?.schema ?? DEFAULT_CLAIM_SCHEMA}, applied with your migration process`);
  }
  return { warnings, nextSteps };
}

async function requireDirectory(dir: string): Promise<string> {
  const resolved = path.resolve(dir);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ConfigError('config_missing', `workspace root ${resolved} is not an existing directory; create it first or pass the right path`, resolved);
  }
  return resolved;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}

// Write a temp file beside the target, flush it, then move it into place: readers see the
// old file or the new one, never half of one. Without overwrite, link() instead of rename()
// refuses a file that appeared since we checked, rather than clobbering it.
async function writeJsonAtomically(file: string, value: unknown, options: { overwrite: boolean; mode: number }): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomUUID()}.tmp`);
  const handle = await open(temp, 'wx', options.mode);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (options.overwrite) await rename(temp, file);
    else await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new ConfigError('config_exists', `${file} appeared while init was running; nothing was overwritten, check it and rerun`, file);
  } finally {
    await rm(temp, { force: true });
  }
}
