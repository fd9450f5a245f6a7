// automation launch: claim the next work item, then run the configured agent command on it.
// A launch that does not obtain a claim starts nothing. A sync agent cannot renew its claim
// while it runs, so it must time out before its lease ends (refused before claiming
// otherwise). An async agent gets a heartbeat sidecar in this coordinator; when the lease is
// lost (or may be), the agent is stopped and the run recorded `failed` with the reason.
import path from 'node:path';
import { redact } from '../claims/redact.js';
import type { SqlClient } from '../claims/postgres/sql-client.js';
import type { ClaimAuthority } from '../claims/authority.js';
import type { AgentConfig } from '../config/project.js';
import { startAgent, type AgentExit, type AgentProcess } from './agent-process.js';
import { agentEnvironment } from './agent-env.js';
import { defaultAuthorityDeps, openClaimAuthority, type AuthorityDeps } from './authority.js';
import { claimNext, type ClaimNextInput, type ClaimNextResult } from './claim-next.js';
import { contextForClaim, readAgentContextFile, updateAgentContext, withRenewedClaim, writeAgentContext, type AgentContext, type RecordedOutcome } from './context.js';
import { AutomationError } from './errors.js';
import { ClaimLostError, leaseProof, lossExplanation } from './guard.js';
import { recordOutcome, type RunTarget } from './outcome.js';
import { localDeadline, startHeartbeatSidecar, type LeaseLoss } from './sidecar.js';
import { openWorkspace, type Workspace } from './workspace.js';

export const DEFAULT_KILL_GRACE_MS = 5_000;
export const AGENT_LOG_FILE = 'agent.log';

export interface LaunchInput extends ClaimNextInput {
  /** Between SIGTERM and SIGKILL when the agent is stopped. Default 5 s. */
  killGraceMs?: number;
  /** How long before the lease's expiry (on the local monotonic clock) an async agent is stopped. Default min(lease/4, grace + 5 s). */
  safetyMarginMs?: number;
  /** Told what happens while the run lasts (claimed, agent started, agent ended); never a lease token. */
  onProgress?: (message: string) => void;
}

/** Why the launcher stopped the agent: its timeout, a lost lease, or a SIGINT/SIGTERM to the launcher itself. */
export type StoppedBy = 'timeout' | 'lease_lost' | 'interrupted';

export interface LaunchRun {
  runId: string;
  contextFile: string;
  /** The agent's stdout and stderr. */
  logFile: string;
  mode: AgentConfig['mode'];
  agent: { pid: number | null; exitCode: number | null; signal: NodeJS.Signals | null; stoppedBy: StoppedBy | null; error: string | null };
  outcome: RecordedOutcome;
  /** Successful renewals by the sidecar (0 for sync launches). */
  heartbeats: number;
  warnings: string[];
}

export interface LaunchResult {
  /** The claim-next result; its owner.leaseToken is the launcher's own. */
  claim: ClaimNextResult;
  /** Null when nothing was claimed (lost_race, no_claim, blocked): then nothing was started. */
  run: LaunchRun | null;
}

export async function launch(input: LaunchInput, deps: AuthorityDeps = defaultAuthorityDeps): Promise<LaunchResult> {
  const workspace = await openWorkspace(input);
  const agent = requireAgent(workspace);
  const leaseDurationMs = input.leaseDurationMs ?? workspace.project.automation.workItemClaims.leaseDurationMs;
  refuseUnsafeSync(agent, leaseDurationMs);
  const shared = shareOneClient(deps);
  try {
    // Before the claim statement is sent: the conservative start of the local lease clock.
    const claimSentAt = performance.now();
    const claim = await claimNext({ ...input, leaseDurationMs }, shared.deps);
    if (claim.status !== 'claimed') return { claim, run: null };
    try {
      return { claim, run: await runClaimed({ workspace, agent, claim, claimSentAt, leaseDurationMs, input }, shared.deps) };
    } catch (error) {
      // The caller never learns the lease token when we throw: give the item back now rather than block it for a lease.
      await releaseQuietly(workspace, claim, shared.deps);
      throw error;
    }
  } finally {
    await shared.close();
  }
}

function requireAgent(workspace: Workspace): AgentConfig {
  const agent = workspace.project.automation.agent;
  if (agent) return agent;
  throw new AutomationError(
    'agent_not_configured',
    `automation.agent is not set in ${workspace.projectFile}, so there is nothing to launch; add for example "agent": { "command": ["my-agent", "--task-file", "task.md"], "mode": "async", "timeoutMs": 1800000 } under "automation"`,
  );
}

function refuseUnsafeSync(agent: AgentConfig, leaseDurationMs: number): void {
  if (agent.mode !== 'sync' || agent.timeoutMs < leaseDurationMs) return;
  throw new AutomationError(
    'sync_timeout_exceeds_lease',
    `refused before claiming: a sync agent cannot renew its claim while it runs, so automation.agent.timeoutMs (${agent.timeoutMs}) must be lower than the lease (${leaseDurationMs} ms); lower timeoutMs, raise the lease, or use mode "async" (a heartbeat sidecar renews the claim)`,
  );
}

/** claim-next and the run share one pool: one connection setup per launch, closed at the end. */
function shareOneClient(deps: AuthorityDeps): { deps: AuthorityDeps; close: () => Promise<void> } {
  let client: Promise<SqlClient> | null = null;
  return {
    deps: {
      ...deps,
      async createClient(connectionString) {
        client ??= deps.createClient(connectionString);
        const shared = await client;
        return { query: (statement, values) => shared.query(statement, values), close: async () => {} };
      },
    },
    close: async () => {
      if (client) await (await client.catch(() => null))?.close();
    },
  };
}

async function releaseQuietly(workspace: Workspace, claim: ClaimNextResult, deps: AuthorityDeps): Promise<void> {
  const opened = await openClaimAuthority(workspace, deps).catch(() => null);
  if (!opened?.ready) return;
  try {
    const proof = { identity: claim.authorityClaim!.identity, leaseToken: claim.owner!.leaseToken, fencingToken: claim.authorityClaim!.fencingToken };
    await opened.authority.release({ ...proof, releasedBy: claim.owner!.ownerId }).catch(() => undefined);
  } finally {
    await opened.close();
  }
}

interface ClaimedRun {
  workspace: Workspace;
  agent: AgentConfig;
  claim: ClaimNextResult;
  claimSentAt: number;
  leaseDurationMs: number;
  input: LaunchInput;
}

async function runClaimed(run: ClaimedRun, deps: AuthorityDeps): Promise<LaunchRun> {
  const context = contextForClaim(run.workspace, run.claim, run.leaseDurationMs);
  const contextFile = await writeAgentContext(context);
  const logFile = path.join(path.dirname(contextFile), AGENT_LOG_FILE);
  const target: RunTarget = { contextFile, context, tracker: run.workspace.tracker };
  const base = { runId: context.runId, contextFile, logFile, mode: run.agent.mode };
  const opened = await openClaimAuthority(run.workspace, deps);
  try {
    if (!opened.ready) {
      // The authority went away between the claim and now: without it the agent could not be guarded.
      const reason = `authority_unavailable: the agent was not started because the claim authority stopped answering after the claim (${opened.readiness.blockers.map((b) => b.message).join('; ')})`;
      const recorded = await recordOutcome(target, null, { outcome: 'failed', reason, recordedBy: 'launcher' });
      const agent = { pid: null, exitCode: null, signal: null, stoppedBy: null, error: 'not started' };
      return { ...base, agent, outcome: recorded.outcome, heartbeats: 0, warnings: recorded.warnings };
    }
    const claim = run.claim.authorityClaim!;
    run.input.onProgress?.(`claimed ${claim.identity.workItemId} (fencing token ${claim.fencingToken}, lease until ${claim.expiresAt}); running the ${run.agent.mode} agent, output in ${logFile}`);
    const supervised = await supervise(run, context, contextFile, logFile, opened.authority);
    const settled = await settle(target, opened.authority, supervised, run.agent);
    const { exit, stoppedBy, pid } = supervised;
    const ended = exit.error ?? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`);
    run.input.onProgress?.(`the agent ${ended}${stoppedBy ? ` (stopped: ${stoppedBy})` : ''}; outcome ${settled.outcome.outcome}, after ${supervised.heartbeats} renewal(s)`);
    return {
      ...base,
      agent: { pid, exitCode: exit.exitCode, signal: exit.signal, stoppedBy, error: exit.error },
      outcome: settled.outcome,
      heartbeats: supervised.heartbeats,
      warnings: [...supervised.warnings, ...settled.warnings],
    };
  } finally {
    await opened.close();
  }
}

interface Supervised {
  pid: number | null;
  exit: AgentExit;
  stoppedBy: StoppedBy | null;
  /** Why the launcher stopped the agent. */
  stopReason: string | null;
  heartbeats: number;
  warnings: string[];
}

/** Run the agent until it exits, stopping it at its timeout, when its lease is lost, or when the launcher is interrupted. */
async function supervise(run: ClaimedRun, context: AgentContext, contextFile: string, logFile: string, authority: ClaimAuthority): Promise<Supervised> {
  const graceMs = run.input.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  let proc: AgentProcess | null = null;
  let stoppedBy: StoppedBy | null = null;
  let stopReason: string | null = null;
  let stopping: Promise<unknown> = Promise.resolve();
  let gaveUp!: (exit: AgentExit) => void;
  const unkillable = new Promise<AgentExit>((resolve) => (gaveUp = resolve));
  const stopAgent = (agent: AgentProcess) => {
    stopping = agent.stop(graceMs).then((exit) => {
      if (!exit) gaveUp({ exitCode: null, signal: null, error: `the agent (pid ${agent.pid}) did not exit even after SIGKILL; it may be stuck in the kernel: check it by hand` });
    });
  };
  const stop = (by: StoppedBy, reason: string) => {
    if (stoppedBy) return;
    stoppedBy = by;
    stopReason = reason;
    if (proc) stopAgent(proc);
  };
  // The agent gets its own process group, so a Ctrl-C meant for the launcher would not reach it:
  // pass the interruption on (listening before the spawn: no window), and still record the run.
  const interrupted = (signal: NodeJS.Signals) => stop('interrupted', `interrupted: the launcher received ${signal} and stopped the agent`);
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    const started = await startAgent({ command: run.agent.command, cwd: context.workspaceRoot, env: agentEnvironment(run.workspace.env, context, contextFile), logFile });
    proc = started;
    if (stoppedBy) stopAgent(started); // interrupted while it was starting
    const timer = setTimeout(() => stop('timeout', `timeout: the agent ran longer than automation.agent.timeoutMs (${run.agent.timeoutMs} ms) and was stopped`), run.agent.timeoutMs);
    const sidecar = run.agent.mode === 'async' ? startSidecar(run, context, contextFile, authority, graceMs, (reason) => stop('lease_lost', reason)) : null;
    const exit = await Promise.race([started.exited, unkillable]);
    clearTimeout(timer);
    await sidecar?.stop();
    await stopping; // bounded: grace + the wait after SIGKILL
    return { pid: started.pid, exit, stoppedBy, stopReason, heartbeats: sidecar?.heartbeats ?? 0, warnings: [...(sidecar?.warnings ?? [])] };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

function startSidecar(run: ClaimedRun, context: AgentContext, contextFile: string, authority: ClaimAuthority, graceMs: number, stop: (reason: string) => void) {
  const lease = run.leaseDurationMs;
  // Stop the agent (grace included) before the database would consider the lease expired.
  const safetyMarginMs = run.input.safetyMarginMs ?? Math.min(Math.floor(lease / 4), graceMs + 5_000);
  const claim = context.authorityClaim;
  return startHeartbeatSidecar({
    authority,
    proof: leaseProof(context),
    leaseDurationMs: lease,
    intervalMs: context.heartbeatIntervalMs,
    safetyMarginMs,
    // The grant's own times (both the database's): claimedAt is the dbNow of the claim statement.
    deadline: localDeadline(run.claimSentAt, claim.expiresAt, claim.claimedAt, safetyMarginMs),
    onRenewed: async (renewed) => void (await updateAgentContext(contextFile, (current) => withRenewedClaim(current, renewed))),
    onLost: (loss) => void onLeaseLoss(loss),
  });

  async function onLeaseLoss(loss: LeaseLoss): Promise<void> {
    // The agent may have recorded its outcome and released the claim itself: that is no loss.
    const recorded = await readAgentContextFile(contextFile).then((c) => c.outcome, () => null);
    if (recorded) return;
    stop(redact(describeLoss(context, loss, safetyMarginMs), [context.owner.leaseToken]));
  }
}

function describeLoss(context: AgentContext, loss: LeaseLoss, safetyMarginMs: number): string {
  if (loss.kind === 'rejected') return `lease_lost: the heartbeat was rejected: ${lossExplanation(context, loss.reason, loss.current, loss.dbNow)}`;
  const last = loss.lastError ? `; last renewal error: ${loss.lastError}` : '';
  return `lease_lost: no renewal succeeded before the local deadline (the lease's expiry less a ${safetyMarginMs} ms safety margin, on this host's monotonic clock)${last}`;
}

/** The outcome after the agent exited: its own, if it recorded one; else the launcher's. */
async function settle(target: RunTarget, authority: ClaimAuthority, supervised: Supervised, agent: AgentConfig): Promise<{ outcome: RecordedOutcome; warnings: string[] }> {
  const context = await readAgentContextFile(target.contextFile);
  if (context.outcome) return { outcome: context.outcome, warnings: [] };
  const current = { ...target, context };
  const { exit, stoppedBy, stopReason } = supervised;
  if (exit.exitCode === 0 && !stoppedBy) {
    try {
      return await recordOutcome(current, authority, { outcome: 'completed', reason: 'the agent exited with code 0', recordedBy: 'launcher' });
    } catch (error) {
      const why = error instanceof ClaimLostError ? 'claim_lost: the agent exited with code 0, but completion was refused' : 'completion_failed: the agent exited with code 0, but completion could not be recorded';
      return recordFailed(current, authority, `${why}: ${(error as Error).message}`);
    }
  }
  return recordFailed(current, authority, stopReason ?? exitReason(exit, agent));
}

function exitReason(exit: AgentExit, agent: AgentConfig): string {
  if (exit.error) return `agent_error: ${exit.error} (command ${JSON.stringify(agent.command[0])})`;
  if (exit.signal) return `agent_failed: the agent was killed by ${exit.signal}`;
  return `agent_failed: the agent exited with code ${exit.exitCode}`;
}

/** `failed` is recorded whatever the authority does: if it fails, without a release. */
async function recordFailed(target: RunTarget, authority: ClaimAuthority, reason: string) {
  try {
    return await recordOutcome(target, authority, { outcome: 'failed', reason, recordedBy: 'launcher' });
  } catch (error) {
    const why = `${reason}; the claim authority failed while recording it (${(error as Error).message})`;
    return recordOutcome(target, null, { outcome: 'failed', reason: why, recordedBy: 'launcher' });
  }
}
