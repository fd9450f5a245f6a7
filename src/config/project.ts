// The portable project config, dev-nexus.project.json at the workspace root. It is shared
// by every host that works on the project, so it names host-local things (a database) only
// by a profile id, and never holds a connection string.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, parseJsonText, validateConfig } from './errors.js';

export const PROJECT_CONFIG_FILE = 'dev-nexus.project.json';

export const DEFAULT_LEASE_DURATION_MS = 60 * 60 * 1000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 20 * 60 * 1000;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ID_RULE = '1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** An id as every config file spells it. `example` goes into the fix of the message. */
export function idSchema(what: string, example: string) {
  return z.string().regex(ID_PATTERN, { error: `is not a valid ${what}: use ${ID_RULE}, for example "${example}"` });
}

function durationMs(example: number) {
  return z
    .number()
    .int({ error: `must be a whole number of milliseconds; use for example ${example}` })
    .positive({ error: `must be greater than 0 milliseconds; use for example ${example}` });
}

// Cross-field rules run even when a sibling is invalid, so one run reports every problem.
// The value they see may then be partly invalid, hence the defensive reads.
const always = { when: () => true };

const trackerSchema = z
  .strictObject({
    id: idSchema('tracker id', 'local'),
    kind: z.literal('local').describe('Tracker kind. Only the local tracker exists so far.'),
    default: z.boolean().optional().describe('The tracker used when none is named. Defaults to true when the component has one tracker.'),
  })
  .describe('A work tracker of the component.');

const componentSchema = z
  .strictObject({
    id: idSchema('component id', 'main'),
    primary: z.boolean().optional().describe('The component used when none is named. Defaults to true when there is one component.'),
    trackers: z
      .array(trackerSchema)
      .min(1, { error: 'must list at least one tracker; add { "id": "local", "kind": "local" }' })
      .superRefine((trackers, ctx) => {
        uniqueIds(trackers, 'tracker', ctx);
        exactlyOneFlagged(trackers, 'default', 'default tracker', ctx);
      }, always),
  })
  .describe('A part of the workspace with its own work trackers.');

const postgresAuthoritySchema = z.strictObject({
  connectionProfileId: idSchema('connection profile id', 'shared-claims').describe(
    'Id of a claimAuthorityProfiles entry in each host\'s dev-nexus.home.json. The connection string stays on the host.',
  ),
});

const authoritySchema = z
  .strictObject({
    backend: z
      .enum(['optimistic_tracker', 'postgres'])
      .default('optimistic_tracker')
      .describe('optimistic_tracker writes claims through the tracker; postgres makes PostgreSQL the shared claim authority.'),
    postgres: postgresAuthoritySchema.optional(),
  })
  .superRefine((authority, ctx) => {
    if (!isObject(authority)) return;
    if (authority.backend === 'postgres' && !authority.postgres) {
      ctx.addIssue({
        code: 'custom',
        path: ['postgres'],
        message: 'is missing: backend "postgres" needs a host-local connection profile; add "postgres": { "connectionProfileId": "shared-claims" } and define that profile in each host\'s dev-nexus.home.json',
      });
    }
  }, always);

const workItemClaimsSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Whether automation claims work items before working on them.'),
    leaseDurationMs: durationMs(DEFAULT_LEASE_DURATION_MS)
      .default(DEFAULT_LEASE_DURATION_MS)
      .describe('Longest time an abandoned claim can block another coordinator. Default 60 minutes.'),
    heartbeatIntervalMs: durationMs(DEFAULT_HEARTBEAT_INTERVAL_MS)
      .default(DEFAULT_HEARTBEAT_INTERVAL_MS)
      .describe('How often a long-running owner renews its claim. Default 20 minutes; at most half of leaseDurationMs.'),
    authority: authoritySchema.prefault({}),
  })
  .superRefine((claims, ctx) => {
    if (!isObject(claims)) return;
    const { leaseDurationMs: lease, heartbeatIntervalMs: heartbeat } = claims;
    if (!isPositiveInt(lease) || !isPositiveInt(heartbeat) || heartbeat <= lease / 2) return;
    ctx.addIssue({
      code: 'custom',
      path: ['heartbeatIntervalMs'],
      message: `is ${heartbeat} (default ${DEFAULT_HEARTBEAT_INTERVAL_MS}) but must be at most half of leaseDurationMs (${lease}), so the owner renews well before expiry; set it to ${Math.floor(lease / 2)} or less, or raise leaseDurationMs`,
    });
  }, always);

const agentSchema = z.strictObject({
  command: z
    .array(z.string().min(1, { error: 'must not hold an empty argument; remove it' }))
    .min(1, { error: 'must name a program to run, as an argv array; for example ["my-agent", "--task-file", "task.md"]' })
    .describe('The agent program and its arguments (argv, no shell).'),
  mode: z.enum(['sync', 'async']).default('sync').describe('sync waits for the command to finish.'),
  timeoutMs: durationMs(30 * 60 * 1000).describe('Longest run of one agent command. Must be below leaseDurationMs for sync launches.'),
});

const automationSchema = z
  .strictObject({
    workItemClaims: workItemClaimsSchema.prefault({}),
    agent: agentSchema.optional(),
  })
  .superRefine((automation, ctx) => {
    // A synchronous launch cannot heartbeat while it waits, so it must end before its lease does.
    if (!isObject(automation)) return;
    const { agent, workItemClaims: claims } = automation;
    if (!claims?.enabled || agent?.mode !== 'sync' || !isPositiveInt(agent.timeoutMs) || !isPositiveInt(claims.leaseDurationMs)) return;
    if (agent.timeoutMs < claims.leaseDurationMs) return;
    ctx.addIssue({
      code: 'custom',
      path: ['agent', 'timeoutMs'],
      message: `is ${agent.timeoutMs} but a sync agent cannot renew its claim while it runs, so it must time out before the lease expires (leaseDurationMs ${claims.leaseDurationMs}); lower timeoutMs below ${claims.leaseDurationMs} or raise leaseDurationMs`,
    });
  }, always);

export const projectConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this file\'s JSON Schema, for editors.'),
    projectId: idSchema('project id', 'my-project').describe('Stable id of the project; part of every claim identity.'),
    components: z
      .array(componentSchema)
      .min(1, { error: 'must list at least one component; add { "id": "main", "trackers": [{ "id": "local", "kind": "local" }] }' })
      .superRefine((components, ctx) => {
        uniqueIds(components, 'component', ctx);
        exactlyOneFlagged(components, 'primary', 'primary component', ctx);
      }, always),
    automation: automationSchema.prefault({}),
  })
  .describe('dev-nexus project config (dev-nexus.project.json). Portable across hosts: never put a database URL here.');

/** The file as written (defaults may be left out). */
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
type Parsed = z.output<typeof projectConfigSchema>;
export type ClaimBackend = Parsed['automation']['workItemClaims']['authority']['backend'];
export type WorkItemClaimsConfig = Parsed['automation']['workItemClaims'];
export type AgentConfig = NonNullable<Parsed['automation']['agent']>;
export type TrackerConfig = Omit<Parsed['components'][number]['trackers'][number], 'default'> & { default: boolean };
export type ComponentConfig = Omit<Parsed['components'][number], 'primary' | 'trackers'> & {
  primary: boolean;
  trackers: TrackerConfig[];
};
/** The config with every default applied: exactly one primary component, one default tracker each. */
export type ProjectConfig = Omit<Parsed, 'components'> & { components: ComponentConfig[] };

export interface LoadedProjectConfig {
  file: string;
  config: ProjectConfig;
}

export function projectConfigPath(workspaceRoot: string): string {
  return path.join(path.resolve(workspaceRoot), PROJECT_CONFIG_FILE);
}

/** Read and validate <workspaceRoot>/dev-nexus.project.json. */
export async function loadProjectConfig(workspaceRoot: string): Promise<LoadedProjectConfig> {
  const file = projectConfigPath(workspaceRoot);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw readFailure(file, error);
  }
  return { file, config: parseProjectConfig(text, file) };
}

export function parseProjectConfig(text: string, file: string): ProjectConfig {
  return validateProjectConfig(parseJsonText(text, file), file);
}

export function validateProjectConfig(data: unknown, file: string): ProjectConfig {
  return normalize(validateConfig(projectConfigSchema, data, { file, secretMessage: projectSecretMessage }));
}

function projectSecretMessage(): string {
  return `holds a database URL or password, which must never be in ${PROJECT_CONFIG_FILE} (the file is shared across hosts); remove it, export the connection string in an environment variable on each host, and reference it through a claim authority profile in dev-nexus.home.json ("connectionStringEnv") named by automation.workItemClaims.authority.postgres.connectionProfileId`;
}

function readFailure(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new ConfigError('config_missing', `${file} does not exist; create it with: dev-nexus init ${path.dirname(file)}`, file);
  }
  return new ConfigError('config_invalid', `${file} cannot be read (${code ?? 'unknown error'}); check that it is a readable file`, file);
}

// Make the implicit defaults explicit, so callers never re-derive "primary when alone".
function normalize(config: Parsed): ProjectConfig {
  const components = config.components.map((component) => ({
    ...component,
    primary: component.primary ?? config.components.length === 1,
    trackers: component.trackers.map((tracker) => ({ ...tracker, default: tracker.default ?? component.trackers.length === 1 })),
  }));
  return { ...config, components };
}

export interface TrackerSelection {
  componentId?: string;
  trackerId?: string;
}

/** The component (default: the primary one) and its tracker (default: its default tracker). */
export function selectTracker(
  config: ProjectConfig,
  selection: TrackerSelection = {},
): { component: ComponentConfig; tracker: TrackerConfig } {
  const component = selection.componentId
    ? config.components.find((c) => c.id === selection.componentId)
    : config.components.find((c) => c.primary);
  if (!component) {
    const ids = config.components.map((c) => c.id).join(', ');
    throw new ConfigError('unknown_component', `no component "${selection.componentId}" in project ${config.projectId}; use one of: ${ids}`);
  }
  const tracker = selection.trackerId
    ? component.trackers.find((t) => t.id === selection.trackerId)
    : component.trackers.find((t) => t.default);
  if (!tracker) {
    const ids = component.trackers.map((t) => t.id).join(', ');
    throw new ConfigError('unknown_tracker', `no tracker "${selection.trackerId}" in component ${component.id}; use one of: ${ids}`);
  }
  return { component, tracker };
}

// ---- cross-field helpers (defensive: the items may be partly invalid)

type Ctx = z.core.$RefinementCtx<unknown>;

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function uniqueIds(items: readonly unknown[], what: string, ctx: Ctx): void {
  if (!Array.isArray(items)) return;
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const id = (item as { id?: unknown })?.id;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicates the ${what} id "${id}" of entry [${first}]; give every ${what} a different id` });
  });
}

function exactlyOneFlagged(items: readonly unknown[], flag: 'primary' | 'default', what: string, ctx: Ctx): void {
  if (!Array.isArray(items) || items.length === 0) return;
  // A flag of the wrong type is already reported; counting it too would only add noise.
  const flags = items.map((item) => (item as Record<string, unknown>)?.[flag]);
  if (flags.some((value) => value !== undefined && typeof value !== 'boolean')) return;
  const alone = items.length === 1;
  const flagged = flags.filter((value) => (value ?? alone) === true);
  if (flagged.length === 1) return;
  const message =
    flagged.length === 0
      ? `has no ${what}; set "${flag}": true on exactly one entry`
      : `has ${flagged.length} entries with "${flag}": true; set it on exactly one entry (there is one ${what})`;
  ctx.addIssue({ code: 'custom', message });
}
