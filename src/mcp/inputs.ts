// The MCP tools' input schemas: strict (an unknown key is refused, never ignored), one field
// per CLI flag, named as the CLI names it (--lease-duration-ms -> leaseDurationMs).
import { z } from 'zod';

const text = z.string().min(1);
/** The CLI's integerFlag: a positive safe integer. */
const positive = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const workspace = {
  workspaceRoot: text.describe('workspace holding dev-nexus.project.json (the CLI\'s <workspace-root>)'),
  home: text.optional().describe('dev-nexus home holding this host\'s dev-nexus.home.json (default: $DEV_NEXUS_HOME of the server, else ~/.dev-nexus)'),
};

const trackerSelection = {
  component: text.optional().describe('component whose tracker to use (default: the primary component)'),
  tracker: text.optional().describe('tracker of that component (default: its default tracker)'),
};

export const claimNextInput = z.strictObject({
  ...workspace,
  host: text.describe('this coordinator host\'s id'),
  agent: text.optional().describe('agent id recorded on the claim'),
  owner: text.optional().describe('owner id (default: <host>/<agent>, or <host>)'),
  ...trackerSelection,
  leaseDurationMs: positive.optional().describe('lease for this claim in ms (default: automation.workItemClaims.leaseDurationMs)'),
  labels: z.array(text).optional().describe('only items carrying every one of these labels (the CLI\'s repeatable --label)'),
});

const lease = {
  ...workspace,
  workItemId: text.describe('the claimed work item'),
  leaseToken: text.describe('the lease token work_item_claim_next returned to you'),
  fencingToken: positive.optional().describe('the fencing token of your claim; protects a newer claim from a stale owner'),
  ...trackerSelection,
};

export const claimReleaseInput = z.strictObject(lease);

export const claimHeartbeatInput = z.strictObject({
  ...lease,
  leaseDurationMs: positive.optional().describe('new lease from now in ms (default: automation.workItemClaims.leaseDurationMs)'),
});

export const automationStatusInput = z.strictObject({
  ...workspace,
  ...trackerSelection,
  checkConnection: z.boolean().optional().describe('also connect, and check that the claim schema exists at the expected version'),
});

// The current launch's tools find their run as the CLI does: through DEV_NEXUS_AGENT_CONTEXT_FILE,
// here in the environment of the server process (the agent's MCP client must pass it through).
export const currentAgentHeartbeatInput = z.strictObject({
  workspaceRoot: text.describe('the workspace of the launch'),
  home: text.optional().describe('dev-nexus home (default: $DEV_NEXUS_HOME of the server, set by the launch)'),
  leaseDurationMs: positive.optional().describe('renew for this long in ms instead of automation.workItemClaims.leaseDurationMs'),
});

export const currentAgentRecordInput = z.strictObject({
  workspaceRoot: text.describe('the workspace of the launch'),
  outcome: z.enum(['completed', 'blocked', 'failed']).describe('how the work ended: completed (only while the claim is still yours; releases it), blocked or failed (always recorded)'),
  summary: z.string().optional().describe('what was done, or why it stopped (posted on the work item)'),
  home: text.optional().describe('dev-nexus home (default: $DEV_NEXUS_HOME of the server, set by the launch)'),
});

export const worktreePrepareInput = z.strictObject({
  workspaceRoot: text.describe('the workspace of the launch (a git repository)'),
  home: text.optional().describe('dev-nexus home (default: $DEV_NEXUS_HOME of the server, set by the launch)'),
});

export type ClaimNextInput = z.infer<typeof claimNextInput>;
export type ClaimReleaseInput = z.infer<typeof claimReleaseInput>;
export type ClaimHeartbeatInput = z.infer<typeof claimHeartbeatInput>;
export type AutomationStatusInput = z.infer<typeof automationStatusInput>;
