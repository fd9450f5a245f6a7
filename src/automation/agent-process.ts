// The agent command as a child process: argv (no shell), its own process group (so a stop
// reaches whatever the agent started), output to a private log file in the run directory
// (the coordinator's stdout carries exactly one JSON object). Stopping is SIGTERM, then
// SIGKILL after a grace period; every wait is bounded.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long to wait for the exit after SIGKILL before giving up on an unkillable process. */
const AFTER_KILL_WAIT_MS = 5_000;
const POLL_MS = 25;

export interface AgentExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started, or never exited even after SIGKILL. */
  error: string | null;
}

export interface AgentProcess {
  pid: number | null;
  /** Resolves once, when the agent exited or could not be started. */
  exited: Promise<AgentExit>;
  /** SIGTERM to the agent's process group, SIGKILL after `graceMs`. Resolves with the exit, or null if it never came. */
  stop(graceMs: number): Promise<AgentExit | null>;
}

export interface AgentProcessOptions {
  command: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr of the agent, appended; created 0600. */
  logFile: string;
}

export async function startAgent(options: AgentProcessOptions): Promise<AgentProcess> {
  const [program, ...args] = options.command;
  if (!program) throw new Error('the agent command is empty');
  const log = await open(options.logFile, 'a', 0o600);
  let exit: AgentExit | null = null;
  // Assigned synchronously with the spawn: listeners must be attached before any await.
  let exited!: Promise<AgentExit>;
  let pid: number | null = null;
  try {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log.fd, log.fd], detached: true, shell: false });
    pid = child.pid ?? null;
    exited = new Promise<AgentExit>((resolve) => {
      child.once('error', (error) => resolve((exit ??= { exitCode: null, signal: null, error: `the agent command could not be started: ${error.message}` })));
      child.once('exit', (code, signal) => resolve((exit ??= { exitCode: code, signal, error: null })));
    });
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
  const groupAlive = () => pid !== null && signalGroup(pid, 0);

  async function stop(graceMs: number): Promise<AgentExit | null> {
    if (exit || pid === null) return exit;
    signalGroup(pid, 'SIGTERM');
    // Wait for the whole group, not only the leader: a helper that ignores SIGTERM is stopped too.
    const graceEnd = performance.now() + graceMs;
    while ((exit === null || groupAlive()) && performance.now() < graceEnd) await sleep(POLL_MS);
    if (exit === null || groupAlive()) signalGroup(pid, 'SIGKILL');
    return Promise.race([exited, sleep(AFTER_KILL_WAIT_MS, null, { ref: false })]);
  }

  return { pid, exited, stop };
}

/** Signal the agent's process group (its pid is the group id: it was spawned detached); true if it exists. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}
