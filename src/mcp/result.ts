// A face result as an MCP tool result: the CLI's --json object as structuredContent and as
// JSON text, isError exactly when the CLI would exit non-zero. Failures are redacted.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { passwordsOf } from '../claims/redact.js';
import { failureResult, type FaceResult } from '../cli/results.js';

export function toolResult({ payload, exitCode }: FaceResult): CallToolResult {
  return {
    structuredContent: payload,
    content: [{ type: 'text', text: JSON.stringify(payload) }],
    ...(exitCode !== 0 ? { isError: true } : {}),
  };
}

/** Run a tool: its result, or its failure as `{ ok: false, error }`; never a thrown error, never a stack trace. */
export async function runTool(produce: () => Promise<FaceResult>, secrets: readonly string[]): Promise<CallToolResult> {
  try {
    return toolResult(await produce());
  } catch (error) {
    return toolResult(failureResult(error, secrets));
  }
}

const CONNECTION_STRING = /^[a-z][a-z0-9+.-]*:\/\/|\bpassword\s*=/i;

/**
 * The host's secrets a message must never carry: every environment value shaped like a
 * connection string, and its password in every form. redact() also removes anything shaped
 * like URL credentials; this list catches a password quoted on its own.
 */
export function hostSecrets(env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  for (const value of Object.values(env)) {
    if (!value || !CONNECTION_STRING.test(value)) continue;
    for (const password of passwordsOf(value)) secrets.add(password);
    if (passwordsOf(value).length > 0) secrets.add(value);
  }
  return [...secrets];
}
