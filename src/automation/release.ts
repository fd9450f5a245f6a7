// Release and heartbeat of a claim by its lease token (and, optionally, fencing token).
import type { HeartbeatResult, ReleaseResult } from '../claims/types.js';
import { openClaimAuthority, defaultAuthorityDeps, type AuthorityDeps, type OpenedAuthority } from './authority.js';
import { mirrorComment, releaseComment } from './mirror.js';
import type { ClaimReadiness } from './readiness.js';
import { openWorkspace, type Workspace, type WorkspaceOptions } from './workspace.js';

export interface LeaseInput extends WorkspaceOptions {
  workItemId: string;
  leaseToken: string;
  fencingToken?: number;
}

export type Blocked = { status: 'blocked'; reason: string; readiness: ClaimReadiness };

export type ReleaseOutcome = (ReleaseResult & { warnings: string[] }) | Blocked;
export type HeartbeatOutcome = HeartbeatResult | Blocked;

async function withAuthority<T>(input: WorkspaceOptions, deps: AuthorityDeps, run: (opened: Extract<OpenedAuthority, { ready: true }>, workspace: Workspace) => Promise<T>): Promise<T | Blocked> {
  const workspace = await openWorkspace(input);
  const opened = await openClaimAuthority(workspace, deps);
  if (!opened.ready) return { status: 'blocked', reason: opened.readiness.blockers.map((b) => b.message).join('; '), readiness: opened.readiness };
  try {
    return await run(opened, workspace);
  } finally {
    await opened.close();
  }
}

function identity(workspace: Workspace, workItemId: string) {
  return { projectId: workspace.project.projectId, trackerId: workspace.tracker.trackerId, workItemId };
}

export async function releaseClaim(input: LeaseInput & { releasedBy?: string }, deps: AuthorityDeps = defaultAuthorityDeps): Promise<ReleaseOutcome> {
  return withAuthority(input, deps, async ({ authority }, workspace) => {
    const result = await authority.release({ identity: identity(workspace, input.workItemId), leaseToken: input.leaseToken, fencingToken: input.fencingToken, releasedBy: input.releasedBy });
    const warnings: string[] = [];
    if (result.status === 'released' && !result.alreadyReleased) {
      const warning = await mirrorComment(workspace.tracker, input.workItemId, releaseComment(result.claim));
      if (warning) warnings.push(warning);
    }
    return { ...result, warnings };
  });
}

export async function heartbeatClaim(input: LeaseInput & { leaseDurationMs?: number }, deps: AuthorityDeps = defaultAuthorityDeps): Promise<HeartbeatOutcome> {
  return withAuthority(input, deps, async ({ authority }, workspace) => {
    const leaseDurationMs = input.leaseDurationMs ?? workspace.project.automation.workItemClaims.leaseDurationMs;
    return authority.heartbeat({ identity: identity(workspace, input.workItemId), leaseToken: input.leaseToken, fencingToken: input.fencingToken, leaseDurationMs });
  });
}
