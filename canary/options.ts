// Command-line options shared by both canary runtimes, and the run's lifecycle: cleanup steps
// that run once, on success, failure, Ctrl-C (SIGINT) or SIGTERM.
import { randomBytes } from 'node:crypto';

export interface CommonOptions {
  rounds: number;
  gate: 'db' | 'none';
  projectId: string;
  /** Container runtime only. */
  postgresImage: string | null;
  help: boolean;
}

export function parseOptions(argv: readonly string[], usage: string): CommonOptions {
  const options: CommonOptions = {
    rounds: Number(process.env.DEV_NEXUS_CANARY_ROUNDS ?? 10),
    gate: 'db',
    projectId: 'canary',
    postgresImage: process.env.DEV_NEXUS_CANARY_POSTGRES_IMAGE || null,
    help: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`, usage);
      return v;
    };
    switch (flag) {
      case '--rounds':
        options.rounds = Number(value());
        break;
      case '--gate': {
        const v = value();
        if (v !== 'db' && v !== 'none') fail('--gate is db or none', usage);
        options.gate = v;
        break;
      }
      case '--postgres-image':
        options.postgresImage = value();
        break;
      case '-h':
      case '--help':
        options.help = true;
        break;
      default:
        fail(`unknown option ${arg}`, usage);
    }
  }
  if (!Number.isSafeInteger(options.rounds) || options.rounds < 1 || options.rounds > 1000) fail('--rounds must be an integer from 1 to 1000', usage);
  return options;
}

function fail(message: string, usage: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Cleanup steps, run in reverse order of registration, each bounded, exactly once: at the end
 * of the run, or on SIGINT/SIGTERM (then the process exits 130/143 after cleaning up).
 */
export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<unknown> }[] = [];
  private running: Promise<string[]> | null = null;

  constructor(private readonly log: (line: string) => void) {}

  add(what: string, run: () => Promise<unknown>): void {
    this.steps.push({ what, run });
  }

  run(): Promise<string[]> {
    this.running ??= (async () => {
      const problems: string[] = [];
      for (const step of this.steps.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            step.run(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('took longer than 60 s')), 60_000);
            }),
          ]);
        } catch (error) {
          problems.push(`${step.what}: ${(error as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }
      return problems;
    })();
    return this.running;
  }

  /** On SIGINT/SIGTERM: say so, clean up, exit. A second signal exits at once. */
  onSignals(onSignal: () => void = () => {}): void {
    let received = 0;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        received += 1;
        const code = signal === 'SIGINT' ? 130 : 143;
        if (received > 1) process.exit(code);
        this.log(`${signal}: stopping the run and cleaning up before exit (a second signal exits at once)`);
        onSignal();
        void this.run().then((problems) => {
          for (const p of problems) this.log(`cleanup: ${p}`);
          this.log(`cleaned up after ${signal}${problems.length ? ` (${problems.length} problem(s) above)` : ''}; exit ${code}`);
          process.exit(code);
        });
      });
    }
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
