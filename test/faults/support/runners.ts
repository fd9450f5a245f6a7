// Runner processes (fixtures/runner.mjs) and the check every scenario ends with: the audit
// checker over the item's events, plus "no runner acted on a lease after a newer grant".
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkClaimEvents } from '../../../src/claims/audit.js';
import type { PostgresClaimAuthority } from '../../../src/claims/postgres/authority.js';
import type { ClaimEvent } from '../../../src/claims/types.js';

const RUNNER = fileURLToPath(new URL('../fixtures/runner.mjs', import.meta.url));

export interface RunnerEvent {
  host: string;
  t: number;
  event: string;
  [key: string]: unknown;
}

export interface Runner {
  host: string;
  leaseToken: string;
  process: ChildProcess;
  events: RunnerEvent[];
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event matching, or rejects after timeoutMs. */
  waitFor(predicate: (e: RunnerEvent) => boolean, timeoutMs: number): Promise<RunnerEvent>;
}

export interface RunnerOptions {
  url: string;
  schema: string;
  projectId: string;
  item: string;
  host: string;
  leaseMs: number;
  heartbeatMs: number;
  workMs?: number;
  retryMs?: number;
  maxMs?: number;
  mutant?: 'ignores-expiry' | 'host-clock';
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

export function startRunner(options: RunnerOptions): Runner {
  const leaseToken = randomUUID();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    RUNNER_URL: options.url,
    RUNNER_SCHEMA: options.schema,
    RUNNER_PROJECT: options.projectId,
    RUNNER_ITEM: options.item,
    RUNNER_HOST: options.host,
    RUNNER_LEASE_TOKEN: leaseToken,
    RUNNER_LEASE_MS: String(options.leaseMs),
    RUNNER_HEARTBEAT_MS: String(options.heartbeatMs),
    RUNNER_WORK_MS: String(options.workMs ?? 100),
    RUNNER_RETRY_MS: String(options.retryMs ?? 0),
    RUNNER_MAX_MS: String(options.maxMs ?? 15_000),
    ...(options.connectTimeoutMs ? { RUNNER_CONNECT_TIMEOUT_MS: String(options.connectTimeoutMs) } : {}),
    ...(options.queryTimeoutMs ? { RUNNER_QUERY_TIMEOUT_MS: String(options.queryTimeoutMs) } : {}),
    ...(options.mutant ? { RUNNER_MUTANT: options.mutant } : {}),
  };
  const child = spawn(process.execPath, [RUNNER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: RunnerEvent[] = [];
  const output: string[] = [];
  const waiters = new Set<{ predicate: (e: RunnerEvent) => boolean; resolve: (e: RunnerEvent) => void }>();
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      const event = JSON.parse(line) as RunnerEvent;
      events.push(event);
      for (const waiter of waiters) {
        if (waiter.predicate(event)) {
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    host: options.host,
    leaseToken,
    process: child,
    events,
    output,
    exited,
    waitFor(predicate, timeoutMs) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) reject(new Error(`runner ${options.host} did not report the awaited event within ${timeoutMs} ms; it said:\n${output.join('\n')}`));
        }, timeoutMs);
      });
    },
  };
}

export function stopRunner(runner: Runner): void {
  if (runner.process.exitCode === null && runner.process.signalCode === null) {
    runner.process.kill('SIGCONT');
    runner.process.kill('SIGKILL');
  }
}

/** Every invariant violation visible in the events and in what the runners did. */
export async function violations(auditor: PostgresClaimAuthority, projectId: string, runners: Runner[]): Promise<string[]> {
  const events: ClaimEvent[] = await auditor.events!(projectId);
  const found = checkClaimEvents(events).violations.map((v) => `audit ${v.kind}: ${v.detail}`);
  const grants = events.filter((e) => e.kind === 'granted' || e.kind === 'reclaimed');
  for (const runner of runners) {
    for (const e of runner.events.filter((x) => x.event === 'acted')) {
      const newer = grants.find((g) => g.fencingToken > (e.fencingToken as number) && g.at <= (e.dbNow as string));
      if (newer) found.push(`${runner.host} acted with fencing ${e.fencingToken} at ${e.dbNow}, after fencing ${newer.fencingToken} was granted at ${newer.at}`);
    }
  }
  return found;
}

export function leakedSecrets(runners: Runner[], secrets: string[]): string[] {
  // Each runner may print only its own lease token; none prints any other secret.
  const leaks: string[] = [];
  for (const runner of runners) {
    const text = runner.output.join('\n');
    for (const secret of secrets) if (secret && text.includes(secret)) leaks.push(`${runner.host} printed a secret`);
    for (const other of runners) if (other !== runner && text.includes(other.leaseToken)) leaks.push(`${runner.host} printed ${other.host}'s lease token`);
  }
  return leaks;
}
