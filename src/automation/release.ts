// Release and heartbeat of a claim by its lease token (and, optionally, fencing token).
import type { HeartbeatResult, ReleaseResult } from '../claims/types.js';
import { defaultAuthorityDeps, withClaimAuthority, type AuthorityDeps, type Blocked } from './authority.js';
import { mirrorComment, releaseComment } from './mirror.js';
import type { Workspace, WorkspaceOptions } from './workspace.js';

export interface LeaseInput extends WorkspaceOptions {
  workItemId: string;
  leaseToken: string;
  fencingToken?: number;
}

export type ReleaseOutcome = (ReleaseResult & { warnings: string[] }) | Blocked;
export type HeartbeatOutcome = HeartbeatResult | Blocked;

function identity(workspace: Workspace, workItemId: string) {
  return { projectId: workspace.project.projectId, trackerId: workspace.tracker.trackerId, workItemId };
}

export async function releaseClaim(input: LeaseInput & { releasedBy?: string }, deps: AuthorityDeps = defaultAuthorityDeps): Promise<ReleaseOutcome> {
  return withClaimAuthority(input, deps, async ({ authority }, workspace) => {
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
  return withClaimAuthority(input, deps, async ({ authority }, workspace) => {
    const leaseDurationMs = input.leaseDurationMs ?? workspace.project.automation.workItemClaims.leaseDurationMs;
    return authority.heartbeat({ identity: identity(workspace, input.workItemId), leaseToken: input.leaseToken, fencingToken: input.fencingToken, leaseDurationMs });
  });
}
