// One canary runner: a coordinator host in miniature. It runs the real `dev-nexus` CLI in its
// own workspace, with its own DEV_NEXUS_HOME and host id, one request per stdin line (see
// protocol.ts). The same file runs as an OS process (processes.ts) and as the main process of
// a runner container (containers.ts).
//
// Environment:
//   CANARY_RUNNER_NAME, CANARY_HOST_ID, CANARY_WORKSPACE, DEV_NEXUS_HOME   who and where
//   CANARY_CLI                       path of dist/cli/main.js
//   DEV_NEXUS_CLAIMS_DATABASE_URL    read by the CLI only (through the home profile)
//   DEV_NEXUS_CANARY_MUTANT          canary tooling only: run the CLI through mutant-cli.js
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LEASE_TOKEN_PLACEHOLDER, type CliOutcome, type RunnerHello, type RunnerRequest, type RunnerResponse } from './protocol.js';

const CLI_TIMEOUT_MS = 60_000;
const PROFILE = 'shared-claims';
const URL_ENV = 'DEV_NEXUS_CLAIMS_DATABASE_URL';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`canary runner: environment variable ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

const name = required('CANARY_RUNNER_NAME');
const hostId = required('CANARY_HOST_ID');
const workspace = resolve(required('CANARY_WORKSPACE'));
const home = resolve(required('DEV_NEXUS_HOME'));
const cli = resolve(required('CANARY_CLI'));
const mutant = process.env.DEV_NEXUS_CANARY_MUTANT || null;
const here = dirname(fileURLToPath(import.meta.url));
const entry = mutant ? join(here, 'mutant-cli.js') : cli;
const barrierPath = join(here, 'barrier.js');

/** The lease tokens this runner won, by work item id. They never leave this process. */
const leaseTokens = new Map<string, string>();

function hide(text: string): string {
  let out = text;
  for (const token of leaseTokens.values()) out = out.split(token).join(LEASE_TOKEN_PLACEHOLDER);
  return out;
}

interface Started {
  child: ChildProcess;
  done: Promise<CliOutcome & { rawStdout: string }>;
  armed: Promise<void>;
}

/** Start one CLI process; with `barrier`, it stops at barrier.ts until `go` is written to its stdin. */
function startCli(args: string[], barrier: boolean): Started {
  let started = process.hrtime.bigint();
  const nodeArgs = barrier ? ['--import', pathToFileURL(barrierPath).href, entry, ...args] : [entry, ...args];
  const child = spawn(process.execPath, nodeArgs, { env: process.env, stdio: barrier ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  child.on('error', (error) => {
    stderr += `canary runner: could not start the CLI: ${error.message}\n`;
  });
  const armed = barrier
    ? new Promise<void>((resolveArmed, rejectArmed) => {
        const signal = child.stdio[3] as Readable;
        signal.setEncoding('utf8');
        signal.on('data', (chunk: string) => {
          if (chunk.includes('armed')) {
            started = process.hrtime.bigint();
            resolveArmed();
          }
        });
        child.on('close', () => rejectArmed(new Error(`the CLI exited before its start barrier: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
      })
    : Promise.resolve();
  armed.catch(() => {});
  const done = new Promise<CliOutcome & { rawStdout: string }>((resolvePromise) => {
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = null;
      }
      resolvePromise({ argv: args, exitCode, signal, json, stdout, stderr, ms: Math.round(ms), rawStdout: stdout });
    });
  });
  return { child, done, armed };
}

function runCli(args: string[]): Promise<CliOutcome & { rawStdout: string }> {
  return startCli(args, false).done;
}

/** The claim-next CLI waiting at its start barrier, if any. */
let armedClaim: Started | null = null;

function claimNextArgs(): string[] {
  return ['work-item', 'claim-next', workspace, '--home', home, '--host', hostId, '--json'];
}

/** What leaves the runner: its own lease tokens replaced everywhere. */
function sanitize(outcome: CliOutcome): CliOutcome {
  const stdout = hide(outcome.stdout);
  let json: unknown = null;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = null;
  }
  return { ...outcome, argv: outcome.argv.map(hide), stdout, stderr: hide(outcome.stderr), json };
}

async function handle(request: RunnerRequest): Promise<Omit<RunnerResponse, 'id' | 'op'>> {
  switch (request.op) {
    case 'init':
      return cliResponse(
        await runCli([
          'init', workspace, '--project-id', request.projectId, '--backend', 'postgres', '--connection-profile', PROFILE,
          '--home', home, '--profile', PROFILE, '--connection-string-env', URL_ENV, '--schema', request.schema, '--json',
        ]),
      );
    case 'add':
      return cliResponse(await runCli(['work-item', 'add', workspace, '--id', request.itemId, '--title', request.title, '--json']));
    case 'set-status':
      return cliResponse(await runCli(['work-item', 'set-status', workspace, request.itemId, request.status, '--json']));
    case 'arm': {
      if (armedClaim) return { ok: false, error: `${name} already has an armed claim-next` };
      const started = startCli(claimNextArgs(), true);
      armedClaim = started;
      try {
        await started.armed;
      } catch (error) {
        armedClaim = null;
        return { ok: false, error: hide((error as Error).message) };
      }
      return { ok: true };
    }
    case 'claim-next': {
      let outcome: CliOutcome & { rawStdout: string };
      if (armedClaim) {
        const armed = armedClaim;
        armedClaim = null;
        armed.child.stdin!.write('go\n');
        outcome = await armed.done;
      } else {
        outcome = await runCli(claimNextArgs());
      }
      const claim = (outcome.json as { claim?: { status?: string; workItem?: { id?: string } | null; owner?: { leaseToken?: unknown } | null } } | null)?.claim;
      const token = claim?.status === 'claimed' ? claim.owner?.leaseToken : undefined;
      const itemId = claim?.workItem?.id;
      if (typeof token === 'string' && token.length > 0 && itemId) leaseTokens.set(itemId, token);
      return { ...cliResponse(outcome), keptLeaseToken: typeof token === 'string' && token.length > 0 };
    }
    case 'heartbeat':
    case 'release': {
      const token = leaseTokens.get(request.itemId);
      if (!token) return { ok: false, error: `${name} holds no lease token for ${request.itemId}` };
      const command = request.op === 'heartbeat' ? 'claim-heartbeat' : 'claim-release';
      return cliResponse(
        await runCli(['work-item', command, workspace, request.itemId, '--home', home, '--lease-token', token, '--fencing-token', String(request.fencingToken), '--json']),
      );
    }
    case 'release-foreign':
      return cliResponse(
        await runCli(['work-item', 'claim-release', workspace, request.itemId, '--home', home, '--lease-token', randomUUID(), '--fencing-token', String(request.fencingToken), '--json']),
      );
    case 'inspect':
      return cliResponse(await runCli(['claims', 'inspect', workspace, '--home', home, '--json']));
    case 'audit':
      return cliResponse(await runCli(['claims', 'audit', workspace, '--home', home, '--json']));
    case 'leaks':
      return { ok: true, leaks: [...leaseTokens.values()].some((token) => request.text.includes(token)) };
    case 'exit':
      return { ok: true };
  }
}

function cliResponse(outcome: CliOutcome & { rawStdout: string }): Omit<RunnerResponse, 'id' | 'op'> {
  const { rawStdout: _raw, ...rest } = outcome;
  return { ok: true, cli: sanitize(rest) };
}

function send(response: RunnerResponse): void {
  process.stdout.write(`${JSON.stringify(response)}\n`);
}

mkdirSync(workspace, { recursive: true });
mkdirSync(home, { recursive: true });
const hello: RunnerHello = { hello: 'dev-nexus-canary-runner', name, hostId, node: process.version, mutant };
process.stdout.write(`${JSON.stringify(hello)}\n`);

// Requests are handled one at a time, in order; the coordinator waits for each answer.
let queue: Promise<void> = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let request: RunnerRequest;
    try {
      request = JSON.parse(line) as RunnerRequest;
    } catch {
      send({ id: -1, op: 'exit', ok: false, error: 'unparsable request line' });
      return;
    }
    try {
      send({ id: request.id, op: request.op, ...(await handle(request)) });
    } catch (error) {
      send({ id: request.id, op: request.op, ok: false, error: hide(error instanceof Error ? error.message : String(error)) });
    }
    if (request.op === 'exit') {
      lines.close();
      process.exit(0);
    }
  });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
