// How every command prints: with --json exactly one JSON object on stdout and nothing else;
// without it, readable text. Failures exit non-zero with { ok: false, error: { code, message } }.
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

export interface OutputOptions {
  json?: boolean;
}

export function printResult(options: OutputOptions, value: Record<string, unknown>, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: true, ...value })}\n`);
  else process.stdout.write(`${text()}\n`);
}

function describeError(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof ClaimAuthorityError) return { code: error.code, message: error.message, exitCode: 1 };
  const withCode = error as { code?: unknown; message?: unknown };
  if (typeof withCode?.code === 'string' && typeof withCode.message === 'string') {
    return { code: withCode.code, message: withCode.message, exitCode: 1 };
  }
  return { code: 'internal_error', message: `unexpected failure: ${String((error as Error)?.message ?? error)}`, exitCode: 70 };
}

/** Print a failure (redacted: no connection string or password survives) and set the exit code. */
export function printError(options: OutputOptions, error: unknown, secrets: readonly (string | undefined)[] = []): void {
  const described = describeError(error);
  const message = redact(described.message, secrets);
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: described.code, message } })}\n`);
  else process.stderr.write(`dev-nexus: ${message} [${described.code}]\n`);
  process.exitCode = described.exitCode;
}

/** Wrap a command action: one result or one error, never both, never a stack trace. */
export function action<Args extends unknown[]>(
  run: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    const command = args[args.length - 1] as { optsWithGlobals?: () => OutputOptions };
    const options = command?.optsWithGlobals?.() ?? {};
    try {
      await run(...args);
    } catch (error) {
      printError(options, error);
    }
  };
}
