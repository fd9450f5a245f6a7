// current-agent heartbeat and record: what a launched agent runs to renew its claim while it
// works and to report how its work ended. Both find the run through
// DEV_NEXUS_AGENT_CONTEXT_FILE and use the backend the run was claimed with.
import type { ClaimRecord } from '../claims/types.js';
import { defaultAuthorityDeps, type AuthorityDeps } from './authority.js';
import { RUN_OUTCOMES, updateAgentContext, withRenewedClaim, type RunOutcome } from './context.js';
import { AutomationError } from './errors.js';
import { claimLost, leaseProof } from './guard.js';
import { recordOutcome, type OutcomeResult } from './outcome.js';
import { requireAuthority, withAgentSession, type AgentSessionInput } from './session.js';

export interface CurrentAgentHeartbeatInput extends AgentSessionInput {
  /** Default: the project's automation.workItemClaims.leaseDurationMs. */
  leaseDurationMs?: number;
}

export interface CurrentAgentHeartbeatResult {
  runId: string;
  workItemId: string;
  /** The renewed claim (never a lease token). */
  claim: ClaimRecord;
  /** The authority's time of the renewal: with claim.expiresAt, what a local deadline is derived from. */
  dbNow: string;
}

/** Renew the run's claim; a rejection is ClaimLostError (code claim_lost) naming the reason and the new holder. */
export async function currentAgentHeartbeat(input: CurrentAgentHeartbeatInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<CurrentAgentHeartbeatResult> {
  return withAgentSession(input, deps, async (session) => {
    const authority = requireAuthority(session);
    const { context } = session;
    const leaseDurationMs = input.leaseDurationMs ?? session.workspace.project.automation.workItemClaims.leaseDurationMs;
    const result = await authority.heartbeat({ ...leaseProof(context), leaseDurationMs });
    if (result.status === 'rejected') throw claimLost(context, result.reason, result.current, result.dbNow, 'the heartbeat');
    await updateAgentContext(session.contextFile, (current) => withRenewedClaim(current, result.claim));
    return { runId: context.runId, workItemId: context.workItemId, claim: result.claim, dbNow: result.dbNow };
  });
}

export interface CurrentAgentRecordInput extends AgentSessionInput {
  outcome: RunOutcome;
  summary?: string;
}

/**
 * Record the run's outcome. `completed` is guarded (refused with claim_lost for a stale owner)
 * and releases the claim; `blocked` and `failed` are recorded even for a stale owner.
 */
export async function currentAgentRecord(input: CurrentAgentRecordInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<OutcomeResult> {
  if (!RUN_OUTCOMES.includes(input.outcome)) {
    throw new AutomationError('invalid_outcome', `outcome ${JSON.stringify(String(input.outcome)).slice(0, 40)} is not one of ${RUN_OUTCOMES.join(', ')}`);
  }
  return withAgentSession(input, deps, async (session) => {
    // blocked/failed must be recordable while the authority is down; completed refuses inside.
    const authority = session.opened.ready ? session.opened.authority : null;
    const target = { contextFile: session.contextFile, context: session.context, tracker: session.workspace.tracker };
    return recordOutcome(target, authority, { outcome: input.outcome, summary: input.summary ?? null, recordedBy: 'agent' });
  });
}
