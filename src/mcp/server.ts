// The dev-nexus MCP server: the CLI's claim commands as tools. A face like the CLI: parse the
// input (strict schemas, inputs.ts), call the use case, answer what the CLI prints under --json
// (results.ts). The environment of the server process is the host environment: the
// connection-string variables named by the home config are read from it.
import { createRequire } from 'node:module';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { checkReadiness } from '../automation/authority.js';
import { claimNext } from '../automation/claim-next.js';
import { heartbeatClaim, releaseClaim } from '../automation/release.js';
import { openWorkspace } from '../automation/workspace.js';
import { claimNextResult, heartbeatResult, releaseResult, statusResult } from '../cli/results.js';
import { registerAgentTools } from './agent-tools.js';
import { automationStatusInput, claimHeartbeatInput, claimNextInput, claimReleaseInput, type ClaimReleaseInput } from './inputs.js';
import { hostSecrets, runTool } from './result.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface McpServerOptions {
  /** The host environment (connection strings, DEV_NEXUS_HOME); default: this process's. */
  env?: NodeJS.ProcessEnv;
}

const INSTRUCTIONS = `dev-nexus: work-item claims shared by several coordinator hosts, exactly one winner per item.
Every tool answers the object \`dev-nexus ... --json\` prints: { ok: true, ... } or { ok: false, error: { code, message } };
isError is set exactly when the CLI would exit non-zero (a refusal, a blocked authority, a failure).
A lease token is a bearer secret: only work_item_claim_next's winner receives it; keep it, pass it back to renew or release.`;

export function createMcpServer(options: McpServerOptions = {}): McpServer {
  const env = options.env ?? process.env;
  const secrets = hostSecrets(env);
  const server = new McpServer({ name: 'dev-nexus', version }, { instructions: INSTRUCTIONS });
  const where = (input: { workspaceRoot: string; home?: string; component?: string; tracker?: string }) => ({
    workspaceRoot: input.workspaceRoot,
    home: input.home,
    componentId: input.component,
    trackerId: input.tracker,
    env,
  });
  const lease = (input: ClaimReleaseInput) => ({ ...where(input), workItemId: input.workItemId, leaseToken: input.leaseToken, fencingToken: input.fencingToken });

  server.registerTool(
    'work_item_claim_next',
    {
      title: 'Claim the next work item',
      description:
        'dev-nexus work-item claim-next: claim the first eligible work item (priority, then age, then id); a lost race moves on to the next. ' +
        'claim.status: claimed (claim.owner.leaseToken is yours alone: keep it secret), lost_race (another owner won every candidate; authorityClaim is the winner\'s claim, without its lease token), ' +
        'no_claim (nothing eligible; see skippedCandidates), blocked (the authority is not ready; isError). Nothing falls back to another backend.',
      inputSchema: claimNextInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (input) =>
      runTool(async () => {
        const claim = await claimNext({ ...where(input), hostId: input.host, agentId: input.agent, ownerId: input.owner, leaseDurationMs: input.leaseDurationMs, labels: input.labels });
        return claimNextResult(claim);
      }, secrets),
  );

  server.registerTool(
    'work_item_claim_release',
    {
      title: 'Release a claim',
      description:
        'dev-nexus work-item claim-release: release a claim you hold (idempotent for the same lease token). A stale lease or fencing token is refused (isError) with the reason as error.code: ' +
        'missing_claim, token_mismatch, fencing_token_mismatch, expired or released.',
      inputSchema: claimReleaseInput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (input) => runTool(async () => releaseResult(await releaseClaim({ ...lease(input), releasedBy: undefined }), input.workItemId), secrets),
  );

  server.registerTool(
    'work_item_claim_heartbeat',
    {
      title: 'Renew a claim',
      description:
        'dev-nexus work-item claim-heartbeat: renew a claim you hold for another lease (default: the configured lease). A stale lease or fencing token is refused (isError) with the reason as error.code: ' +
        'missing_claim, token_mismatch, fencing_token_mismatch, expired or released.',
      inputSchema: claimHeartbeatInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (input) => runTool(async () => heartbeatResult(await heartbeatClaim({ ...lease(input), leaseDurationMs: input.leaseDurationMs }), input.workItemId), secrets),
  );

  server.registerTool(
    'automation_status',
    {
      title: 'Claim authority readiness',
      description:
        'dev-nexus automation status: whether the configured claim authority is ready on this host: backend, PostgreSQL profile id, whether the profile exists, ' +
        'whether its connection-string environment variable is set (never its value), whether the node_postgres adapter is available, and with checkConnection the database and schema. ' +
        'Not ready is isError, with status.blockers saying what to do.',
      inputSchema: automationStatusInput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (input) =>
      runTool(async () => {
        const workspace = await openWorkspace(where(input));
        return statusResult(await checkReadiness(workspace, { checkConnection: input.checkConnection }));
      }, secrets),
  );

  registerAgentTools(server, env, secrets);
  return server;
}
