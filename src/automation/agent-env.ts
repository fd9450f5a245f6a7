// The environment of a launched agent: the host's, plus where its launch context is and what
// its claim is. The lease token is NOT here: it is in the 0600 context file, the owner's own.
import { HOME_ENV } from '../config/home.js';
import { AGENT_CONTEXT_ENV, type AgentContext } from './context.js';

export const CLAIM_ENV = {
  leaseDurationMs: 'DEV_NEXUS_CLAIM_LEASE_DURATION_MS',
  heartbeatIntervalMs: 'DEV_NEXUS_CLAIM_HEARTBEAT_INTERVAL_MS',
  authorityKind: 'DEV_NEXUS_CLAIM_AUTHORITY_KIND',
  fencingToken: 'DEV_NEXUS_CLAIM_FENCING_TOKEN',
  authorityState: 'DEV_NEXUS_CLAIM_AUTHORITY_STATE',
} as const;

export function agentEnvironment(hostEnv: NodeJS.ProcessEnv, context: AgentContext, contextFile: string): NodeJS.ProcessEnv {
  return {
    ...hostEnv,
    [AGENT_CONTEXT_ENV]: contextFile,
    [CLAIM_ENV.leaseDurationMs]: String(context.leaseDurationMs),
    [CLAIM_ENV.heartbeatIntervalMs]: String(context.heartbeatIntervalMs),
    [CLAIM_ENV.authorityKind]: context.authorityKind,
    [CLAIM_ENV.fencingToken]: String(context.fencingToken),
    [CLAIM_ENV.authorityState]: context.authorityClaim.state,
    // The agent's own dev-nexus commands find the same home (and profiles) as its launcher.
    [HOME_ENV]: context.home,
  };
}
