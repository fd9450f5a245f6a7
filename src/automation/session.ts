// A worker-side command's view of its launch: the context file (from
// DEV_NEXUS_AGENT_CONTEXT_FILE), the workspace it belongs to, and the configured claim
// authority. Shared by current-agent heartbeat/record and worktree prepare.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { ClaimAuthority } from '../claims/authority.js';
import { HOME_ENV } from '../config/home.js';
import { defaultAuthorityDeps, openClaimAuthority, type AuthorityDeps, type OpenedAuthority } from './authority.js';
import { readAgentContext, type AgentContext } from './context.js';
import { AutomationError } from './errors.js';
import { openWorkspace, type Workspace } from './workspace.js';

export interface AgentSessionInput {
  workspaceRoot: string;
  /** The --home argument; else DEV_NEXUS_HOME (set by launch), else the home recorded in the context. */
  home?: string;
  env?: NodeJS.ProcessEnv;
}

export interface AgentSession {
  contextFile: string;
  context: AgentContext;
  workspace: Workspace;
  opened: OpenedAuthority;
  close(): Promise<void>;
}

export async function openAgentSession(input: AgentSessionInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<AgentSession> {
  const env = input.env ?? process.env;
  const { file, context } = await readAgentContext(env);
  await requireSameWorkspace(input.workspaceRoot, context, file);
  const workspace = await openWorkspace({
    workspaceRoot: context.workspaceRoot,
    home: input.home || env[HOME_ENV] || context.home,
    componentId: context.componentId,
    trackerId: context.trackerId,
    env,
  });
  const opened = await openClaimAuthority(workspace, deps);
  if (opened.readiness.backend !== context.authorityKind) {
    await opened.close();
    throw new AutomationError(
      'agent_context_mismatch',
      `the launch context ${file} was claimed through the ${context.authorityKind} backend but ${workspace.projectFile} now selects ${opened.readiness.backend}; a claim cannot move between backends: finish this run with the backend it started with, or start a new launch`,
    );
  }
  return { contextFile: file, context, workspace, opened, close: () => opened.close() };
}

/** The ready authority, or a `blocked` error: a guarded action never proceeds unverified. */
export function requireAuthority(session: AgentSession): ClaimAuthority {
  if (session.opened.ready) return session.opened.authority;
  const reasons = session.opened.readiness.blockers.map((b) => b.message).join('; ');
  throw new AutomationError('blocked', `the claim authority is not ready, so the claim cannot be checked: ${reasons}`);
}

export async function withAgentSession<T>(input: AgentSessionInput, deps: AuthorityDeps, run: (session: AgentSession) => Promise<T>): Promise<T> {
  const session = await openAgentSession(input, deps);
  try {
    return await run(session);
  } finally {
    await session.close();
  }
}

// A command pointed at one workspace must not act on another workspace's claim.
async function requireSameWorkspace(workspaceRoot: string, context: AgentContext, file: string): Promise<void> {
  const given = path.resolve(workspaceRoot);
  if (given === context.workspaceRoot) return;
  const [a, b] = await Promise.all([realpath(given).catch(() => given), realpath(context.workspaceRoot).catch(() => context.workspaceRoot)]);
  if (a === b) return;
  throw new AutomationError(
    'agent_context_mismatch',
    `the launch context ${file} belongs to workspace ${context.workspaceRoot}, not ${given}; pass that workspace root, or unset DEV_NEXUS_AGENT_CONTEXT_FILE if this command is not part of that run`,
  );
}
