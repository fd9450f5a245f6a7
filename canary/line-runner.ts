// The coordinator's end of the runner protocol, over any pair of streams: a child process's
// stdin/stdout (processes.ts) or a container's attached stdin/stdout (containers.ts).
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { RunnerHello, RunnerRequestBody, RunnerResponse } from './protocol.js';

export interface RunnerHandle {
  readonly name: string;
  readonly hostId: string;
  /** Send one request and wait (bounded) for its answer. */
  request(body: RunnerRequestBody, timeoutMs?: number): Promise<RunnerResponse>;
  /** Write the request line now; returns the answer's promise (for the race barrier). */
  send(body: RunnerRequestBody, timeoutMs?: number): Promise<RunnerResponse>;
  /** The last lines the runner wrote to stderr (diagnostics for a failure). */
  stderrTail(): string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 90_000;

export class LineRunner implements RunnerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RunnerResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private helloWaiter: { resolve: (h: RunnerHello) => void; reject: (e: Error) => void } | null = null;
  private hello: RunnerHello | null = null;
  private closedWith: Error | null = null;
  private readonly stderrLines: string[] = [];

  constructor(
    readonly name: string,
    readonly hostId: string,
    private readonly input: Writable,
    output: Readable,
    stderr?: Readable,
  ) {
    createInterface({ input: output }).on('line', (line) => this.onLine(line));
    output.on('close', () => this.fail(new Error(`runner ${name} closed its output`)));
    output.on('end', () => this.fail(new Error(`runner ${name} closed its output`)));
    if (stderr) {
      createInterface({ input: stderr }).on('line', (line) => {
        this.stderrLines.push(line);
        if (this.stderrLines.length > 20) this.stderrLines.shift();
      });
    }
    input.on('error', (error) => this.fail(new Error(`runner ${name}: cannot write to it (${error.message})`)));
  }

  /** Wait for the runner's first line (it says who it is), bounded. */
  ready(timeoutMs: number): Promise<RunnerHello> {
    if (this.hello) return Promise.resolve(this.hello);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`runner ${this.name} did not start within ${timeoutMs} ms${this.tailNote()}`)), timeoutMs);
      this.helloWaiter = {
        resolve: (h) => {
          clearTimeout(timer);
          resolve(h);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  send(body: RunnerRequestBody, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<RunnerResponse> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    const promise = new Promise<RunnerResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`runner ${this.name} did not answer ${body.op} within ${timeoutMs} ms${this.tailNote()}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    this.input.write(`${JSON.stringify({ id, ...body })}\n`);
    return promise;
  }

  request(body: RunnerRequestBody, timeoutMs?: number): Promise<RunnerResponse> {
    return this.send(body, timeoutMs);
  }

  stderrTail(): string {
    return this.stderrLines.join('\n');
  }

  private tailNote(): string {
    const tail = this.stderrTail();
    return tail ? `; its stderr ends: ${tail.split('\n').slice(-3).join(' | ')}` : '';
  }

  private onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.stderrLines.push(`(stdout) ${line}`);
      return;
    }
    if (!this.hello && (message as RunnerHello).hello === 'dev-nexus-canary-runner') {
      this.hello = message as RunnerHello;
      this.helloWaiter?.resolve(this.hello);
      return;
    }
    const response = message as RunnerResponse;
    const waiter = this.pending.get(response.id);
    if (!waiter) return;
    this.pending.delete(response.id);
    clearTimeout(waiter.timer);
    waiter.resolve(response);
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = new Error(`${error.message}${this.tailNote()}`);
    this.helloWaiter?.reject(this.closedWith);
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(this.closedWith);
      this.pending.delete(id);
    }
  }
}
