// The line protocol between the canary's coordinator and its two runners.
//
// A runner (runner.ts) is one OS process, or the main process of one container. It reads one
// JSON request per line on stdin and answers one JSON response per line on stdout. Each
// request makes it run the real `dev-nexus` CLI once, in its own workspace, with its own
// DEV_NEXUS_HOME and host id. Blocking on that read is the race's barrier: the coordinator
// writes the `claim-next` line to both runners at the same moment.
//
// A runner keeps the lease tokens it wins to itself (the CLI prints them only to their owner):
// it replaces them in everything it sends back, and answers `leaks` questions instead.

export type RunnerRequest =
  | { id: number; op: 'init'; projectId: string; schema: string }
  | { id: number; op: 'add'; itemId: string; title: string }
  | { id: number; op: 'set-status'; itemId: string; status: 'ready' | 'in_progress' | 'blocked' | 'done' }
  /** Start the claim-next CLI process up to its start barrier (barrier.ts) and answer when it waits there. */
  | { id: number; op: 'arm' }
  /** Let the armed claim-next CLI go (or start one, when none is armed) and answer with its outcome. */
  | { id: number; op: 'claim-next' }
  | { id: number; op: 'heartbeat'; itemId: string; fencingToken: number }
  | { id: number; op: 'release'; itemId: string; fencingToken: number }
  /** Release with a lease token this runner never held: the authority must refuse it. */
  | { id: number; op: 'release-foreign'; itemId: string; fencingToken: number }
  | { id: number; op: 'inspect' }
  | { id: number; op: 'audit' }
  /** Does `text` contain one of this runner's lease tokens? (The token itself never leaves.) */
  | { id: number; op: 'leaks'; text: string }
  | { id: number; op: 'exit' };

export type RunnerOp = RunnerRequest['op'];
export type RunnerRequestBody = RunnerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One run of the CLI, as the runner saw it. Its own lease tokens are already replaced. */
export interface CliOutcome {
  /** The CLI's arguments with the runner's paths and with lease tokens replaced. */
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  /** The parsed stdout when it is exactly one JSON value, else null. */
  json: unknown;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunnerResponse {
  id: number;
  op: RunnerOp;
  /** false when the runner itself failed (not the CLI): `error` says why. */
  ok: boolean;
  error?: string;
  cli?: CliOutcome;
  /** For `claim-next`: this runner won and keeps the lease token. */
  keptLeaseToken?: boolean;
  /** For `leaks`. */
  leaks?: boolean;
}

/** The first line a runner prints: who it is. */
export interface RunnerHello {
  hello: 'dev-nexus-canary-runner';
  name: string;
  hostId: string;
  node: string;
  mutant: string | null;
}

export const LEASE_TOKEN_PLACEHOLDER = '[lease token kept by its runner]';
