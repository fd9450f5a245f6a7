// Failures of the worker-side use cases (launch, current-agent, worktree). Every code is
// stable (scripts and the CLI's exit codes match on it); every message says what happened
// and what to do, and never holds a lease token other than the caller's own (none do).

export type AutomationErrorCode =
  /** DEV_NEXUS_AGENT_CONTEXT_FILE is unset or names no file. */
  | 'no_agent_context'
  /** The context file exists but cannot be read as a launch context. */
  | 'agent_context_invalid'
  /** The context belongs to another workspace or another claim backend than the command's. */
  | 'agent_context_mismatch'
  /** The launch's claim is no longer this owner's: a guarded action was refused. */
  | 'claim_lost'
  /** The configured claim authority is not ready (postgres configured but unusable). */
  | 'blocked'
  /** The run already recorded its outcome; an outcome is recorded once. */
  | 'outcome_already_recorded'
  | 'invalid_outcome'
  | 'agent_not_configured'
  | 'sync_timeout_exceeds_lease'
  | 'not_a_git_repository'
  | 'git_failed';

export class AutomationError extends Error {
  override readonly name: string = 'AutomationError';
  readonly code: AutomationErrorCode;

  constructor(code: AutomationErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  toJSON(): { code: AutomationErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAutomationError(error: unknown, code?: AutomationErrorCode): error is AutomationError {
  return error instanceof AutomationError && (code === undefined || error.code === code);
}
