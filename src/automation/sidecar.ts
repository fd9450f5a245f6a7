// The heartbeat sidecar of an async launch: renews the claim every heartbeat interval while
// the agent runs, and reports a loss when the authority rejects a renewal or when the LOCAL
// deadline passes without a successful one. The deadline lives on this process's monotonic
// clock (performance.now): send time + (expiresAt − dbNow) − safety margin. It never compares
// this host's wall clock with stored times, so a host whose clock runs ahead or behind still
// stops its agent before the database considers the lease expired.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimAuthority } from '../claims/authority.js';
import type { ClaimRecord, LeaseProof, RejectionReason } from '../claims/types.js';

export type LeaseLoss =
  | { kind: 'rejected'; reason: RejectionReason; current: ClaimRecord | null; dbNow: string }
  | { kind: 'deadline'; lastError: string | null };

export interface SidecarOptions {
  authority: ClaimAuthority;
  proof: LeaseProof;
  leaseDurationMs: number;
  intervalMs: number;
  safetyMarginMs: number;
  /** Monotonic time (clock()) by which a renewal must succeed: derived from the claim itself. */
  deadline: number;
  /** After each successful renewal (e.g. to update the context file). A failure here is not a lease loss. */
  onRenewed?: (claim: ClaimRecord) => Promise<void>;
  /** Called at most once, when the lease is lost or may be. */
  onLost: (loss: LeaseLoss) => void;
  clock?: () => number;
}

export interface HeartbeatSidecar {
  readonly heartbeats: number;
  /** Renewals that failed for infrastructure reasons (retried until the deadline). */
  readonly failures: number;
  readonly warnings: readonly string[];
  /** Stop renewing; waits at most a second for an in-flight renewal. */
  stop(): Promise<void>;
}

/** The local deadline after a renewal sent at `sentAt` (monotonic) that the authority answered with `expiresAt` at `dbNow`. */
export function localDeadline(sentAt: number, expiresAt: string, dbNow: string, safetyMarginMs: number): number {
  return sentAt + (Date.parse(expiresAt) - Date.parse(dbNow)) - safetyMarginMs;
}

// After stop, an in-flight renewal's answer is ignored; waiting a moment only lets one that is
// just answering finish its context update. A hung one is not waited for (the pool's timeouts end it).
const STOP_WAIT_MS = 1_000;
const MIN_RETRY_MS = 10;

export function startHeartbeatSidecar(options: SidecarOptions): HeartbeatSidecar {
  const clock = options.clock ?? (() => performance.now());
  const state = { heartbeats: 0, failures: 0, warnings: [] as string[], done: false, deadline: options.deadline, lastError: null as string | null };
  const abort = new AbortController();
  let deadlineTimer: NodeJS.Timeout | undefined;

  const finish = () => {
    state.done = true;
    clearTimeout(deadlineTimer);
    abort.abort();
  };
  const lose = (loss: LeaseLoss) => {
    if (state.done) return;
    finish();
    options.onLost(loss);
  };
  // The deadline fires on its own timer, so a renewal that hangs cannot postpone it.
  const armDeadline = () => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(() => lose({ kind: 'deadline', lastError: state.lastError }), Math.max(0, state.deadline - clock()));
  };

  async function renewOnce(): Promise<number> {
    const sentAt = clock();
    try {
      const result = await options.authority.heartbeat({ ...options.proof, leaseDurationMs: options.leaseDurationMs });
      if (state.done) return 0;
      if (result.status === 'rejected') {
        lose({ kind: 'rejected', reason: result.reason, current: result.current, dbNow: result.dbNow });
        return 0;
      }
      state.heartbeats += 1;
      state.lastError = null;
      state.deadline = localDeadline(sentAt, result.claim.expiresAt, result.dbNow, options.safetyMarginMs);
      armDeadline();
      await options.onRenewed?.(result.claim).catch((error: Error) => void state.warnings.push(`context_update_failed: ${error.message}`));
      return Math.max(0, sentAt + options.intervalMs - clock());
    } catch (error) {
      // An infrastructure failure is not a loss yet: retry, sooner than usual, until the deadline decides.
      state.failures += 1;
      state.lastError = (error as Error).message;
      return Math.max(MIN_RETRY_MS, Math.min(options.intervalMs, Math.floor((state.deadline - clock()) / 3)));
    }
  }

  async function loop(): Promise<void> {
    let delay = options.intervalMs;
    while (!state.done) {
      try {
        await sleep(delay, undefined, { signal: abort.signal });
      } catch {
        return; // stopped
      }
      if (state.done) return;
      delay = await renewOnce();
    }
  }

  armDeadline();
  const running = loop();
  return {
    get heartbeats() {
      return state.heartbeats;
    },
    get failures() {
      return state.failures;
    },
    get warnings() {
      return state.warnings;
    },
    async stop() {
      finish();
      // An unref'd timer: waiting for a hung renewal must not keep the process alive by itself.
      await Promise.race([running, sleep(STOP_WAIT_MS, undefined, { ref: false })]);
    },
  };
}
