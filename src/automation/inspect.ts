// Operator views of the configured authority: inspect claims, and audit the event log.
import { checkClaimEvents, type AuditReport } from '../claims/audit.js';
import type { InspectResult } from '../claims/types.js';
import { defaultAuthorityDeps, withClaimAuthority, type AuthorityDeps, type Blocked } from './authority.js';
import type { WorkspaceOptions } from './workspace.js';

export class AuditUnavailableError extends Error {
  readonly code = 'audit_unavailable';
}

/** Active, stale and released claims of the project (all trackers unless one is given). */
export async function inspectClaims(input: WorkspaceOptions & { limit?: number }, deps: AuthorityDeps = defaultAuthorityDeps): Promise<InspectResult | Blocked> {
  return withClaimAuthority(input, deps, ({ authority }, workspace) =>
    authority.inspect({ projectId: workspace.project.projectId, trackerId: input.trackerId, limit: input.limit }),
  );
}

/** Run the audit checker over the project's event log. */
export async function auditClaims(input: WorkspaceOptions, deps: AuthorityDeps = defaultAuthorityDeps): Promise<AuditReport | Blocked> {
  return withClaimAuthority(input, deps, async ({ authority }, workspace) => {
    if (!authority.events) {
      throw new AuditUnavailableError(`the ${authority.kind} backend keeps no audit log; audits need the postgres backend`);
    }
    return checkClaimEvents(await authority.events(workspace.project.projectId, input.trackerId));
  });
}
