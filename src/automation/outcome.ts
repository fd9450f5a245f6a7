// Recording a run's outcome: in the context file, on the tracker (the visible work record),
// and at the authority (release). `completed` is guarded: only the live owner may complete,
// and completing releases the claim. `blocked` and `failed` are recorded even for a stale
// owner, so a worker that lost its claim can still say that it stopped; the claim is
// released only if it is still this owner's.
import type { ClaimAuthority } from '../claims/authority.js';
import { redact } from '../claims/redact.js';
import type { ClaimRecord } from '../claims/types.js';
import type { WorkItemStatus, WorkTracker } from '../trackers/types.js';
import { updateAgentContext, type AgentContext, type RecordedOutcome, type RunOutcome } from './context.js';
import { AutomationError } from './errors.js';
import { claimLost, leaseProof, verifyCurrentClaim } from './guard.js';
import { updateItem } from './mirror.js';

export interface RecordOutcomeInput {
  outcome: RunOutcome;
  summary?: string | null;
  /** Why the launcher recorded it (lease lost, timeout, exit code). */
  reason?: string | null;
  recordedBy: 'agent' | 'launcher';
}

export interface RunTarget {
  contextFile: string;
  context: AgentContext;
  tracker: WorkTracker;
}

export interface OutcomeResult {
  runId: string;
  workItemId: string;
  outcome: RecordedOutcome;
  /** The released claim, or the claim as the authority holds it now; null when unknown. */
  claim: ClaimRecord | null;
  /** The tracker status written, or null when it was left alone (another owner holds the item, or the write failed). */
  workItemStatus: WorkItemStatus | null;
  warnings: string[];
}

/** `authority` is null when it is not ready: then only blocked/failed can be recorded, without a release. */
export async function recordOutcome(target: RunTarget, authority: ClaimAuthority | null, input: RecordOutcomeInput): Promise<OutcomeResult> {
  if (target.context.outcome) {
    const previous = target.context.outcome;
    throw new AutomationError(
      'outcome_already_recorded',
      `run ${target.context.runId} already recorded \`${previous.outcome}\` (by the ${previous.recordedBy} at ${previous.recordedAt}); an outcome is recorded once: start a new launch for further work`,
    );
  }
  return input.outcome === 'completed' ? recordCompleted(target, authority, input) : recordStopped(target, authority, input);
}

async function recordCompleted(target: RunTarget, authority: ClaimAuthority | null, input: RecordOutcomeInput): Promise<OutcomeResult> {
  const { context } = target;
  if (!authority) throw new AutomationError('blocked', 'the claim authority is not ready, so `completed` cannot be verified; retry when it is, or record `blocked`');
  await verifyCurrentClaim(context, authority, 'recording `completed`');
  const released = await authority.release({ ...leaseProof(context), releasedBy: context.owner.ownerId });
  // Lost between the check and the release (expired at that very moment, or reclaimed).
  if (released.status === 'rejected') throw claimLost(context, released.reason, released.current, released.dbNow, 'recording `completed`');
  const warnings: string[] = [];
  const status = await mirrorOutcome(target, 'done', comment(context, input, null), warnings);
  const outcome = await saveOutcome(target, input, { claimReleased: true, claimHeld: true });
  return { runId: context.runId, workItemId: context.workItemId, outcome, claim: released.claim, workItemStatus: status, warnings };
}

async function recordStopped(target: RunTarget, authority: ClaimAuthority | null, input: RecordOutcomeInput): Promise<OutcomeResult> {
  const { context } = target;
  const warnings: string[] = [];
  let claim: ClaimRecord | null = null;
  let claimHeld = false;
  let claimReleased = false;
  if (!authority) {
    warnings.push(`claim_not_released: the claim authority is not ready; the claim (fencing token ${context.fencingToken}) was not released and blocks the item until it expires`);
  } else {
    const verdict = await authority.verify(leaseProof(context));
    claim = verdict.claim;
    claimHeld = verdict.status === 'verified';
    if (claimHeld) {
      const released = await authority.release({ ...leaseProof(context), releasedBy: context.owner.ownerId }).catch(() => null);
      // A rejection here means the claim went away on its own: nothing left to release.
      if (released?.status === 'released') {
        claimReleased = true;
        claim = released.claim;
      }
    }
  }
  // A later grant belongs to another owner: its item's status is not ours to change.
  const newerOwner = claim !== null && claim.fencingToken !== context.fencingToken ? claim : null;
  const status = await mirrorOutcome(target, newerOwner ? null : 'blocked', comment(context, input, newerOwner), warnings);
  const outcome = await saveOutcome(target, input, { claimReleased, claimHeld });
  return { runId: context.runId, workItemId: context.workItemId, outcome, claim, workItemStatus: status, warnings };
}

async function mirrorOutcome(target: RunTarget, status: WorkItemStatus | null, body: string, warnings: string[]): Promise<WorkItemStatus | null> {
  const { tracker, context } = target;
  try {
    await updateItem(tracker, context.workItemId, () => ({ ...(status ? { status } : {}), appendComments: [{ author: 'dev-nexus', body }] }));
    return status;
  } catch (error) {
    warnings.push(`mirror_failed: the outcome is recorded in ${target.contextFile}, but work item ${context.workItemId} could not be updated in tracker ${tracker.trackerId} (${(error as Error).message}); update it by hand`);
    return null;
  }
}

function comment(context: AgentContext, input: RecordOutcomeInput, newerOwner: ClaimRecord | null): string {
  const who = `host ${context.owner.hostId}${context.owner.agentId ? `, agent ${context.owner.agentId}` : ''} (fencing token ${context.fencingToken}, run ${context.runId})`;
  const heading = { completed: `Completed by ${who}`, blocked: `Blocked: reported by ${who}`, failed: `Failed: reported by ${who}` }[input.outcome];
  // The summary is free text from the agent: never let the owner's own lease token reach the tracker.
  const details = [input.summary, input.reason].filter((s): s is string => Boolean(s)).map((s) => redact(s, [context.owner.leaseToken]));
  const stale = newerOwner
    ? ` This owner's claim had already passed to host ${newerOwner.owner.hostId} (fencing token ${newerOwner.fencingToken}); the item's status was left as it is.`
    : '';
  const said = details.length > 0 ? `${heading}: ${details.join(' — ')}` : heading;
  return `${/[.!?]$/.test(said) ? said : `${said}.`}${stale}`;
}

async function saveOutcome(target: RunTarget, input: RecordOutcomeInput, claimState: { claimReleased: boolean; claimHeld: boolean }): Promise<RecordedOutcome> {
  const outcome: RecordedOutcome = {
    outcome: input.outcome,
    summary: input.summary ? redact(input.summary, [target.context.owner.leaseToken]) : null,
    reason: input.reason ?? null,
    recordedBy: input.recordedBy,
    recordedAt: new Date().toISOString(),
    ...claimState,
  };
  await updateAgentContext(target.contextFile, (current) => ({ ...current, outcome }));
  return outcome;
}
