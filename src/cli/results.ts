// What both faces answer: how a use case's outcome (or failure) becomes the object that the
// CLI prints under --json and that the MCP server returns as structuredContent, and the CLI's
// exit code for it (the MCP server sets isError exactly when that code is non-zero). One
// mapping, so the two faces cannot drift apart.
import type { Blocked } from '../automation/authority.js';
import type { ClaimNextResult } from '../automation/claim-next.js';
import type { CurrentAgentHeartbeatResult } from '../automation/current-agent.js';
import type { OutcomeResult } from '../automation/outcome.js';
import type { ClaimReadiness } from '../automation/readiness.js';
import type { HeartbeatOutcome, ReleaseOutcome } from '../automation/release.js';
import type { PreparedWorktree } from '../automation/worktree.js';
import { AutomationError, type AutomationErrorCode } from '../automation/errors.js';
import { ClaimAuthorityError } from '../claims/errors.js';
import { redact } from '../claims/redact.js';

/** Exit codes: 0 success, 1 failure, 2 usage error, 3 refused by the authority (a stale or foreign lease), 4 blocked (authority not ready). */
export const EXIT_REFUSED = 3;
export const EXIT_BLOCKED = 4;

/** A failure the user can act on: a stable code and a message that says what to do. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export type SuccessPayload = { ok: true } & Record<string, unknown>;
export type FailurePayload = {
  ok: false;
  error: { code: string; message: string };
};

/** The answer of one command or tool call. */
export interface FaceResult {
  payload: SuccessPayload | FailurePayload;
  /** The CLI's exit code; non-zero is an MCP tool error (isError). */
  exitCode: number;
}

export function success(value: Record<string, unknown>, exitCode = 0): FaceResult {
  return { payload: { ok: true, ...value }, exitCode };
}

/** claim-next: every status is a result; `blocked` (authority not ready) exits EXIT_BLOCKED. */
export function claimNextResult(claim: ClaimNextResult): FaceResult {
  return success({ claim }, claim.status === 'blocked' ? EXIT_BLOCKED : 0);
}

/** automation status: the readiness report; not ready exits EXIT_BLOCKED. */
export function statusResult(status: ClaimReadiness): FaceResult {
  return success({ status }, status.ready ? 0 : EXIT_BLOCKED);
}

/** claim-release: released (possibly already before), else the refusal is thrown as a CliError. */
export function releaseResult(release: ReleaseOutcome, workItemId: string): FaceResult {
  refuseUnless(release, 'released', workItemId);
  return success({ release });
}

/** claim-heartbeat: renewed, else the refusal is thrown as a CliError. */
export function heartbeatResult(heartbeat: HeartbeatOutcome, workItemId: string): FaceResult {
  refuseUnless(heartbeat, 'heartbeat', workItemId);
  return success({ heartbeat });
}

/** A blocked authority or a refused lease is a failure of the command, with the reason as its code. */
export function refuseUnless(outcome: { status: string; reason?: string } | Blocked, successStatus: string, workItemId: string): void {
  if (outcome.status === successStatus) return;
  if (outcome.status === 'blocked') throw new CliError('blocked', `the claim authority is not ready: ${outcome.reason}`, EXIT_BLOCKED);
  const reason = outcome.reason ?? 'rejected';
  throw new CliError(reason, `the claim on ${workItemId} was not renewed or released: ${REFUSAL[reason] ?? reason}`, EXIT_REFUSED);
}

const REFUSAL: Record<string, string> = {
  missing_claim: 'there is no claim on this item',
  token_mismatch: 'the lease token is not the current claim\'s: the claim was taken over or never yours',
  fencing_token_mismatch: 'the fencing token is not the current claim\'s: a newer claim exists',
  expired: 'the lease expired; claim the item again',
  released: 'the claim was already released',
};

/** Worker refusals: the claim is not (or no longer) the caller's, or the request is unsafe. */
const WORKER_REFUSALS: ReadonlySet<AutomationErrorCode> = new Set(['claim_lost', 'sync_timeout_exceeds_lease', 'outcome_already_recorded', 'agent_context_mismatch']);

function automationExitCode(code: AutomationErrorCode): number {
  if (WORKER_REFUSALS.has(code)) return EXIT_REFUSED;
  return code === 'blocked' ? EXIT_BLOCKED : 1;
}

function describeError(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof AutomationError) return { code: error.code, message: error.message, exitCode: automationExitCode(error.code) };
  if (error instanceof ClaimAuthorityError) return { code: error.code, message: error.message, exitCode: 1 };
  const withCode = error as { code?: unknown; message?: unknown };
  if (typeof withCode?.code === 'string' && typeof withCode.message === 'string') {
    return { code: withCode.code, message: withCode.message, exitCode: 1 };
  }
  return { code: 'internal_error', message: `unexpected failure: ${String((error as Error)?.message ?? error)}`, exitCode: 70 };
}

/** A failure as `{ ok: false, error: { code, message } }`, redacted: no connection string or password survives. */
export function failureResult(error: unknown, secrets: readonly (string | undefined)[] = []): FaceResult & { payload: FailurePayload } {
  const described = describeError(error);
  return { payload: { ok: false, error: { code: described.code, message: redact(described.message, secrets) } }, exitCode: described.exitCode };
}

/** current-agent heartbeat: the renewed claim, as `{ ok, runId, workItemId, claim, dbNow }`. */
export function currentAgentHeartbeatResult(result: CurrentAgentHeartbeatResult): FaceResult {
  return success({ ...result });
}

/** current-agent record: `{ ok, runId, workItemId, outcome, claim, workItemStatus, warnings }`. */
export function currentAgentRecordResult(result: OutcomeResult): FaceResult {
  return success({ ...result });
}

/** worktree prepare: `{ ok, worktree: { runId, workItemId, fencingToken, branch, path, created } }`. */
export function worktreeResult(worktree: PreparedWorktree): FaceResult {
  return success({ worktree });
}
