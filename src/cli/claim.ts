// dev-nexus work-item claim-next | claim-heartbeat | claim-release: claims by hand or from scripts.
import type { Command } from 'commander';
import { claimNext, type ClaimNextResult } from '../automation/claim-next.js';
import { heartbeatClaim, releaseClaim } from '../automation/release.js';
import { integerFlag, workspaceInput, workspaceOptions, type WorkspaceFlags } from './flags.js';
import { action, printFaceResult } from './output.js';
import { claimNextResult, CliError, EXIT_BLOCKED, EXIT_REFUSED, heartbeatResult, releaseResult } from './results.js';

interface ClaimNextFlags extends WorkspaceFlags {
  host: string;
  agent?: string;
  owner?: string;
  leaseDurationMs?: string;
  label?: string[];
}

interface LeaseFlags extends WorkspaceFlags {
  leaseToken?: string;
  fencingToken?: string;
  leaseDurationMs?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerClaimCommands(workItem: Command): void {
  workspaceOptions(
    workItem
      .command('claim-next')
      .description('claim the first eligible work item (priority, then age, then id); a lost race moves on to the next')
      .argument('<workspace-root>', 'workspace holding dev-nexus.project.json')
      .requiredOption('--host <host-id>', 'this coordinator host\'s id')
      .option('--agent <id>', 'agent id recorded on the claim')
      .option('--owner <id>', 'owner id (default: <host>/<agent>, or <host>)')
      .option('--lease-duration-ms <n>', 'lease for this claim (default: automation.workItemClaims.leaseDurationMs)')
      .option('--label <label>', 'only items with this label (repeatable)', collect),
  )
    .addHelpText('after', `
Statuses: claimed (the lease token is yours: keep it secret), lost_race (another owner won every
candidate; authorityClaim is the winner's claim), no_claim (nothing eligible; see skippedCandidates),
blocked (the authority is not ready; exit code ${EXIT_BLOCKED}). Nothing falls back to another backend.

Example:
  dev-nexus work-item claim-next . --home ~/.dev-nexus --host build-01 --agent codex --json`)
    .action(
      action(async (workspaceRoot: string, flags: ClaimNextFlags) => {
        const claim = await claimNext({
          ...workspaceInput(workspaceRoot, flags),
          hostId: flags.host,
          agentId: flags.agent,
          ownerId: flags.owner,
          leaseDurationMs: integerFlag('--lease-duration-ms', flags.leaseDurationMs, '3600000'),
          labels: flags.label,
        });
        printFaceResult(flags, claimNextResult(claim), () => describeClaimNext(claim));
      }),
    );

  leaseCommand(workItem, 'claim-heartbeat', 'renew a claim you hold for another lease (default: the configured lease)')
    .option('--lease-duration-ms <n>', 'new lease from now (default: automation.workItemClaims.leaseDurationMs)')
    .action(
      action(async (workspaceRoot: string, workItemId: string, flags: LeaseFlags) => {
        const heartbeat = await heartbeatClaim({ ...leaseInput(workspaceRoot, workItemId, flags), leaseDurationMs: integerFlag('--lease-duration-ms', flags.leaseDurationMs, '3600000') });
        printFaceResult(flags, heartbeatResult(heartbeat, workItemId), () => heartbeat.status === 'heartbeat' ? `renewed ${workItemId}: fencing token ${heartbeat.claim.fencingToken}, lease until ${heartbeat.claim.expiresAt}` : '');
      }),
    );

  leaseCommand(workItem, 'claim-release', 'release a claim you hold (idempotent); for hand-offs outside `automation current-agent record`')
    .action(
      action(async (workspaceRoot: string, workItemId: string, flags: LeaseFlags) => {
        const release = await releaseClaim({ ...leaseInput(workspaceRoot, workItemId, flags), releasedBy: undefined });
        printFaceResult(flags, releaseResult(release, workItemId), () => release.status === 'released' ? `released ${workItemId} (fencing token ${release.claim.fencingToken})${release.alreadyReleased ? ', already released before' : ''}` : '');
      }),
    );
}

function leaseCommand(workItem: Command, name: string, description: string): Command {
  return workspaceOptions(
    workItem
      .command(name)
      .description(description)
      .argument('<workspace-root>', 'workspace holding dev-nexus.project.json')
      .argument('<work-item-id>', 'the claimed work item')
      .option('--lease-token <token>', `the lease token claim-next returned to you (or set ${LEASE_TOKEN_ENV}: other users can read command lines with ps, not your environment)`)
      .option('--fencing-token <n>', 'the fencing token of your claim; protects a newer claim from a stale owner'),
  ).addHelpText('after', `
A stale lease or fencing token is refused (exit code ${EXIT_REFUSED}) with the reason:
missing_claim, token_mismatch, fencing_token_mismatch, expired or released.

Example:
  ${LEASE_TOKEN_ENV}="$LEASE" dev-nexus work-item ${name} . wi-42 --home ~/.dev-nexus --fencing-token 7 --json`);
}

/** Where a lease token may come from besides --lease-token: an environment variable, out of `ps`'s sight. */
export const LEASE_TOKEN_ENV = 'DEV_NEXUS_CLAIM_LEASE_TOKEN';

function leaseTokenOf(flags: LeaseFlags): string {
  const token = flags.leaseToken ?? process.env[LEASE_TOKEN_ENV];
  if (!token) throw new CliError('usage_error', `a lease token is required: pass --lease-token <token> or set ${LEASE_TOKEN_ENV}`, 2);
  return token;
}

function leaseInput(workspaceRoot: string, workItemId: string, flags: LeaseFlags) {
  return {
    ...workspaceInput(workspaceRoot, flags),
    workItemId,
    leaseToken: leaseTokenOf(flags),
    fencingToken: integerFlag('--fencing-token', flags.fencingToken, '7'),
  };
}

function describeClaimNext(claim: ClaimNextResult): string {
  const lines: string[] = [];
  if (claim.status === 'claimed') {
    lines.push(`claimed ${claim.workItem?.id} (${claim.backend}): fencing token ${claim.authorityClaim?.fencingToken}, lease until ${claim.owner?.expiresAt}`);
    lines.push(`lease token: ${claim.owner?.leaseToken}  (yours alone: pass it to claim-heartbeat and claim-release)`);
  } else {
    lines.push(`${claim.status}: ${claim.reason ?? ''}`.trim());
  }
  for (const lost of claim.lostTo) lines.push(`  lost ${lost.workItemId} to ${lost.hostId} (fencing token ${lost.fencingToken}, until ${lost.expiresAt})`);
  for (const skipped of claim.skippedCandidates) lines.push(`  skipped ${skipped.workItemId}: ${skipped.detail}`);
  for (const warning of claim.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
