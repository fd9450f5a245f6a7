// The launch context file: what a launched agent, and the dev-nexus commands it runs, know
// about the run's claim. It is the owner's file, so it holds the owner's own lease token:
// mode 0600 in a 0700 run directory, replaced atomically (temp + rename) so a reader never
// sees half a file, and updated under a lock because the coordinator's heartbeat sidecar and
// the agent's own commands write it concurrently.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ClaimAuthorityKind } from '../claims/authority.js';
import type { ClaimRecord } from '../claims/types.js';
import { writeFileAtomic } from '../trackers/local/files.js';
import { withFileLock } from '../trackers/local/lock.js';
import type { ClaimedOwner, ClaimNextResult } from './claim-next.js';
import { AutomationError } from './errors.js';
import type { Workspace } from './workspace.js';

export const AGENT_CONTEXT_ENV = 'DEV_NEXUS_AGENT_CONTEXT_FILE';
export const RUNS_DIRECTORY = path.join('.dev-nexus', 'runs');
export const CONTEXT_FILE_NAME = 'context.json';

export type RunOutcome = 'completed' | 'blocked' | 'failed';
export const RUN_OUTCOMES: readonly RunOutcome[] = ['completed', 'blocked', 'failed'];

export interface RecordedOutcome {
  outcome: RunOutcome;
  summary: string | null;
  /** Why the launcher recorded it (lease lost, timeout, exit code); null when the agent recorded it. */
  reason: string | null;
  recordedBy: 'agent' | 'launcher';
  /** This host's clock: for people reading the file, never for lease decisions. */
  recordedAt: string;
  claimReleased: boolean;
  /** False when the claim was no longer this owner's when the outcome was recorded. */
  claimHeld: boolean;
}

export interface AgentContext {
  version: 1;
  runId: string;
  /** Absolute. */
  workspaceRoot: string;
  /** The resolved dev-nexus home of the launching host. */
  home: string;
  projectId: string;
  componentId: string;
  trackerId: string;
  workItemId: string;
  authorityKind: ClaimAuthorityKind;
  /** The owner's own lease token is here: this file belongs to the owner. */
  owner: ClaimedOwner;
  /** The claim as the authority last returned it (updated by every heartbeat). */
  authorityClaim: ClaimRecord;
  fencingToken: number;
  leaseDurationMs: number;
  heartbeatIntervalMs: number;
  startedAt: string;
  outcome: RecordedOutcome | null;
}

const text = z.string().min(1);
const count = z.number().int().positive();
const contextSchema = z.looseObject({
  version: z.literal(1),
  runId: text,
  workspaceRoot: text,
  home: text,
  projectId: text,
  componentId: text,
  trackerId: text,
  workItemId: text,
  authorityKind: z.enum(['postgres', 'optimistic_tracker']),
  owner: z.looseObject({ hostId: text, agentId: text.nullable(), ownerId: text, leaseToken: text, claimedAt: text, expiresAt: text }),
  authorityClaim: z.looseObject({
    identity: z.looseObject({ projectId: text, trackerId: text, workItemId: text }),
    fencingToken: count,
    state: z.enum(['active', 'released']),
    expiresAt: text,
  }),
  fencingToken: count,
  leaseDurationMs: count,
  heartbeatIntervalMs: count,
  startedAt: text,
  outcome: z.looseObject({ outcome: z.enum(['completed', 'blocked', 'failed']) }).nullable(),
});

/** A run id that sorts by start time and is unique without coordination. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run-${stamp}-${randomBytes(4).toString('hex')}`;
}

/** The context of a new run on a `claimed` claim-next result. */
export function contextForClaim(workspace: Workspace, claim: ClaimNextResult, leaseDurationMs: number): AgentContext {
  if (claim.status !== 'claimed' || !claim.owner || !claim.authorityClaim) throw new Error(`a run needs a claimed item, not ${claim.status}`);
  const authorityClaim = claim.authorityClaim;
  const configured = workspace.project.automation.workItemClaims.heartbeatIntervalMs;
  return {
    version: 1,
    runId: newRunId(),
    workspaceRoot: path.resolve(workspace.root),
    home: workspace.homeDir,
    projectId: workspace.project.projectId,
    componentId: workspace.component.id,
    trackerId: workspace.trackerConfig.id,
    workItemId: authorityClaim.identity.workItemId,
    authorityKind: claim.backend,
    owner: claim.owner,
    authorityClaim,
    fencingToken: authorityClaim.fencingToken,
    leaseDurationMs,
    // A lease shortened by --lease-duration-ms still gets renewals at most half a lease apart.
    heartbeatIntervalMs: Math.max(1, Math.min(configured, Math.floor(leaseDurationMs / 2))),
    startedAt: new Date().toISOString(),
    outcome: null,
  };
}

export function runDirectory(workspaceRoot: string, runId: string): string {
  return path.join(path.resolve(workspaceRoot), RUNS_DIRECTORY, runId);
}

export function contextFilePath(workspaceRoot: string, runId: string): string {
  return path.join(runDirectory(workspaceRoot, runId), CONTEXT_FILE_NAME);
}

/** Create the run directory (0700) and write the context (0600). Returns the file's path. */
export async function writeAgentContext(context: AgentContext): Promise<string> {
  const dir = runDirectory(context.workspaceRoot, context.runId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; this one must be private whatever happened before.
  await chmod(dir, 0o700);
  const file = path.join(dir, CONTEXT_FILE_NAME);
  await writeFileAtomic(file, `${JSON.stringify(context, null, 2)}\n`, 0o600);
  return file;
}

/** The context named by DEV_NEXUS_AGENT_CONTEXT_FILE, with errors that say what to do. */
export async function readAgentContext(env: NodeJS.ProcessEnv): Promise<{ file: string; context: AgentContext }> {
  const named = env[AGENT_CONTEXT_ENV];
  if (!named) {
    throw new AutomationError(
      'no_agent_context',
      `${AGENT_CONTEXT_ENV} is not set: this command works only inside an agent started by \`dev-nexus automation launch\`, which sets it to the run's context file; run it from that agent, or set ${AGENT_CONTEXT_ENV} to <workspace-root>/${RUNS_DIRECTORY}/<run-id>/${CONTEXT_FILE_NAME}`,
    );
  }
  const file = path.resolve(named);
  return { file, context: await readAgentContextFile(file) };
}

export async function readAgentContextFile(file: string): Promise<AgentContext> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new AutomationError('no_agent_context', `${AGENT_CONTEXT_ENV} names ${file}, which does not exist; the run's directory may have been removed: start a new launch with \`dev-nexus automation launch\``);
    }
    throw new AutomationError('agent_context_invalid', `the launch context ${file} cannot be read (${code ?? 'unknown error'}); it must be readable by the agent's user (mode 0600, owned by the launching user)`);
  }
  return parseAgentContext(raw, file);
}

function parseAgentContext(raw: string, file: string): AgentContext {
  const invalid = (detail: string) =>
    new AutomationError('agent_context_invalid', `the launch context ${file} is not valid (${detail}); it is written by \`dev-nexus automation launch\` and must not be edited: start a new launch`);
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw invalid('not JSON');
  }
  const parsed = contextSchema.safeParse(data);
  if (!parsed.success) {
    // Name the fields only: a value could be the lease token.
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(0, 5);
    throw invalid(`bad or missing ${fields.join(', ')}`);
  }
  return parsed.data as unknown as AgentContext;
}

/** Read, change and replace the context under its lock, so concurrent writers lose no update. */
export async function updateAgentContext(file: string, change: (context: AgentContext) => AgentContext): Promise<AgentContext> {
  return withFileLock(`${file}.lock`, { timeoutMs: 5_000, staleMs: 30_000, subject: `launch context ${file}` }, async () => {
    const next = change(await readAgentContextFile(file));
    await writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o600);
    return next;
  });
}

/**
 * The context after a successful renewal. Two writers renew concurrently (the sidecar and the
 * agent's own heartbeat), so an older answer arriving last must not replace a newer one: the
 * authority counts the renewals of a grant, and the higher count is the later answer.
 */
export function withRenewedClaim(context: AgentContext, claim: ClaimRecord): AgentContext {
  const current = context.authorityClaim;
  if (claim.fencingToken !== current.fencingToken || claim.heartbeatCount < current.heartbeatCount) return context;
  return { ...context, authorityClaim: claim, owner: { ...context.owner, expiresAt: claim.expiresAt } };
}

