// How every command prints: with --json exactly one JSON object on stdout and nothing else;
// without it, readable text. Failures exit non-zero with { ok: false, error: { code, message } }.
// What the object holds is decided in results.ts, shared with the MCP server.
import { failureResult, type FaceResult } from './results.js';

export { CliError, EXIT_BLOCKED, EXIT_REFUSED } from './results.js';

export interface OutputOptions {
  json?: boolean;
}

export function printResult(options: OutputOptions, value: Record<string, unknown>, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: true, ...value })}\n`);
  else process.stdout.write(`${text()}\n`);
}

/** Print a use case's result as results.ts shaped it, and set its exit code when non-zero. */
export function printFaceResult(options: OutputOptions, result: FaceResult, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result.payload)}\n`);
  else process.stdout.write(`${text()}\n`);
  if (result.exitCode !== 0) process.exitCode = result.exitCode;
}

/** Print a failure (redacted: no connection string or password survives) and set the exit code. */
export function printError(options: OutputOptions, error: unknown, secrets: readonly (string | undefined)[] = []): void {
  const { payload, exitCode } = failureResult(error, secrets);
  if (options.json) process.stdout.write(`${JSON.stringify(payload)}\n`);
  else process.stderr.write(`dev-nexus: ${payload.error.message} [${payload.error.code}]\n`);
  process.exitCode = exitCode;
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
