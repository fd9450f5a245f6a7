// The launched agent's tools: current_agent_heartbeat, current_agent_record, worktree_prepare.
// Like `dev-nexus automation current-agent ...` and `dev-nexus worktree prepare`, they find the
// run through DEV_NEXUS_AGENT_CONTEXT_FILE in the host environment (the server's), and the
// guarded ones verify the lease and fencing tokens at the authority before changing anything.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { currentAgentHeartbeat, currentAgentRecord } from '../automation/current-agent.js';
import { prepareWorktree } from '../automation/worktree.js';
import { currentAgentHeartbeatResult, currentAgentRecordResult, worktreeResult } from '../cli/results.js';
import { currentAgentHeartbeatInput, currentAgentRecordInput, worktreePrepareInput } from './inputs.js';
import { runTool } from './result.js';

const CONTEXT = 'The run is found through DEV_NEXUS_AGENT_CONTEXT_FILE in the MCP server\'s environment (set by `dev-nexus automation launch` for the agent; its MCP client must pass it to the server); without it the error code is no_agent_context.';
const REFUSED = 'A claim that is no longer this run\'s is refused (isError, error.code claim_lost, naming the new holder); error.code blocked when the claim authority is not ready.';

export function registerAgentTools(server: McpServer, env: NodeJS.ProcessEnv, secrets: readonly string[]): void {
  server.registerTool(
    'current_agent_heartbeat',
    {
      title: 'Renew the current launch\'s claim',
      description: `dev-nexus automation current-agent heartbeat: renew the current launch's claim for the configured lease (call it at least every DEV_NEXUS_CLAIM_HEARTBEAT_INTERVAL_MS). Answers { ok, runId, workItemId, claim, dbNow }. ${CONTEXT} ${REFUSED}`,
      inputSchema: currentAgentHeartbeatInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (input) => runTool(async () => currentAgentHeartbeatResult(await currentAgentHeartbeat({ workspaceRoot: input.workspaceRoot, home: input.home, leaseDurationMs: input.leaseDurationMs, env })), secrets),
  );

  server.registerTool(
    'current_agent_record',
    {
      title: 'Record the current launch\'s outcome',
      description: `dev-nexus automation current-agent record: record how the run ended. completed only while the claim is still this run's (releases it and marks the item done); blocked and failed are always recorded. An outcome is recorded once. Answers { ok, runId, workItemId, outcome, claim, workItemStatus, warnings }. ${CONTEXT} ${REFUSED}`,
      inputSchema: currentAgentRecordInput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    (input) => runTool(async () => currentAgentRecordResult(await currentAgentRecord({ workspaceRoot: input.workspaceRoot, home: input.home, outcome: input.outcome, summary: input.summary, env })), secrets),
  );

  server.registerTool(
    'worktree_prepare',
    {
      title: 'Prepare a git worktree for the claimed item',
      description: `dev-nexus worktree prepare: create (or find) the git worktree <workspace>/.dev-nexus/worktrees/<work-item-id> on branch dev-nexus/<work-item-id> for the current launch's claimed item. Answers { ok, worktree: { runId, workItemId, fencingToken, branch, path, created } }. ${CONTEXT} ${REFUSED}`,
      inputSchema: worktreePrepareInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (input) => runTool(async () => worktreeResult(await prepareWorktree({ workspaceRoot: input.workspaceRoot, home: input.home, env })), secrets),
  );
}
