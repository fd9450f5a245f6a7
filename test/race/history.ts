// Model-based race histories for the property tests: several owners run random command
// lists concurrently against one authority; afterwards the audit checker and a reference
// model must agree with everything the owners were told.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { checkClaimEvents } from '../../src/claims/audit.js';
import type { ClaimAuthority } from '../../src/claims/authority.js';
import type { ClaimEvent, ClaimIdentity } from '../../src/claims/types.js';

export type Command =
  | { kind: 'claim'; item: number; leaseMs: number }
  | { kind: 'heartbeat'; item: number; leaseMs: number }
  | { kind: 'release'; item: number }
  | { kind: 'verify'; item: number }
  /** The owner stops heartbeating and forgets its leases (its process died). */
  | { kind: 'crash' }
  /** The owner stalls (a long GC pause), then wakes and acts with the tokens it had. */
  | { kind: 'pause'; ms: number };

export interface OwnerPlan {
  /** Host clock offset of this owner; a correct authority never looks at it. */
  skewMs: number;
  commands: Command[];
}

export interface History {
  items: number;
  owners: OwnerPlan[];
}

/** Leases of tens of milliseconds, so expiry and reclaim happen inside one history. */
const LEASES = [15, 30, 60, 120];

function commandArb(items: number): fc.Arbitrary<Command> {
  const item = fc.integer({ min: 0, max: items - 1 });
  const leaseMs = fc.constantFrom(...LEASES);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('claim' as const), item, leaseMs }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), item, leaseMs }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), item }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('verify' as const), item }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 1, max: 80 }) }) },
  );
}

export function historyArb(maxOwners = 4, maxItems = 2): fc.Arbitrary<History> {
  return fc.integer({ min: 1, max: maxItems }).chain((items) =>
    fc.record({
      items: fc.constant(items),
      owners: fc.array(
        fc.record({
          skewMs: fc.constantFrom(0, 0, 3 * 3600_000, -3 * 3600_000, 250, -250),
          commands: fc.array(commandArb(items), { minLength: 1, maxLength: 8 }),
        }),
        { minLength: 2, maxLength: maxOwners },
      ),
    }),
  );
}

/** What one owner was told by the authority, with its own monotonic send and receive times. */
interface Observation {
  owner: number;
  command: Command;
  sentAt: number;
  receivedAt: number;
  status: string;
  fencingToken?: number;
  holderFencing?: number;
  holderOwner?: string;
  alreadyHeld?: boolean;
  alreadyReleased?: boolean;
  /** The latest local receive time of a claim or heartbeat on the lease this command used. */
  leaseRenewedAt?: number;
  leaseMs?: number;
}

export interface Actor {
  authority: ClaimAuthority;
}

/** An authority bound to one owner's host clock, for mutants that (wrongly) read it. */
export type ActorFactory = (owner: number, skewMs: number) => Actor;

interface Lease {
  leaseToken: string;
  fencingToken: number;
  renewedAt: number;
  leaseMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runOwner(owner: number, plan: OwnerPlan, actor: Actor, identity: (item: number) => ClaimIdentity, log: Observation[]): Promise<void> {
  const leases = new Map<number, Lease>();
  const ownerIdentity = { hostId: `host-${owner}`, agentId: null, ownerId: `owner-${owner}` };
  for (const command of plan.commands) {
    if (command.kind === 'pause') {
      await sleep(command.ms);
      continue;
    }
    if (command.kind === 'crash') {
      leases.clear();
      continue;
    }
    const id = identity(command.item);
    const lease = leases.get(command.item);
    const sentAt = performance.now();
    const base = { owner, command, sentAt, leaseRenewedAt: lease?.renewedAt, leaseMs: lease?.leaseMs };
    if (command.kind === 'claim') {
      const leaseToken = lease?.leaseToken ?? randomUUID();
      const result = await actor.authority.claim({ identity: id, owner: ownerIdentity, leaseToken, leaseDurationMs: command.leaseMs });
      const receivedAt = performance.now();
      if (result.status === 'claimed') {
        // A retry that found its own live claim renewed nothing: the old deadline stands.
        const renewed = result.alreadyHeld && lease ? { renewedAt: lease.renewedAt, leaseMs: lease.leaseMs } : { renewedAt: receivedAt, leaseMs: command.leaseMs };
        leases.set(command.item, { leaseToken, fencingToken: result.claim.fencingToken, ...renewed });
        log.push({ ...base, receivedAt, status: 'claimed', fencingToken: result.claim.fencingToken, alreadyHeld: result.alreadyHeld });
      } else {
        log.push({ ...base, receivedAt, status: 'lost_race', holderFencing: result.holder.fencingToken, holderOwner: result.holder.owner.ownerId });
      }
      continue;
    }
    if (!lease) continue; // Nothing to act with: an owner only acts on leases it holds.
    const proof = { identity: id, leaseToken: lease.leaseToken, fencingToken: lease.fencingToken };
    if (command.kind === 'heartbeat') {
      const result = await actor.authority.heartbeat({ ...proof, leaseDurationMs: command.leaseMs });
      const receivedAt = performance.now();
      log.push({ ...base, receivedAt, status: result.status === 'heartbeat' ? 'heartbeat' : `rejected:${result.reason}`, fencingToken: lease.fencingToken });
      if (result.status === 'heartbeat') leases.set(command.item, { ...lease, renewedAt: receivedAt, leaseMs: command.leaseMs });
    } else if (command.kind === 'release') {
      const result = await actor.authority.release(proof);
      const receivedAt = performance.now();
      log.push({ ...base, receivedAt, status: result.status === 'released' ? 'released' : `rejected:${result.reason}`, fencingToken: lease.fencingToken, alreadyReleased: result.status === 'released' && result.alreadyReleased });
    } else {
      const result = await actor.authority.verify(proof);
      log.push({ ...base, receivedAt: performance.now(), status: `verify:${result.status}`, fencingToken: lease.fencingToken });
    }
  }
}

export interface HistoryOutcome {
  problems: string[];
  observations: Observation[];
  events: ClaimEvent[];
}

/**
 * Run one history concurrently and judge it. `events` reads the audit log of one tracker.
 * Returns the problems found (empty when the run is clean).
 */
export async function runHistory(
  history: History,
  actors: ActorFactory,
  events: (trackerId: string) => Promise<ClaimEvent[]>,
  projectId: string,
): Promise<HistoryOutcome> {
  const trackerId = `run-${randomUUID()}`;
  const identity = (item: number): ClaimIdentity => ({ projectId, trackerId, workItemId: `item-${item}` });
  const log: Observation[] = [];
  await Promise.all(history.owners.map((plan, owner) => runOwner(owner, plan, actors(owner, plan.skewMs), identity, log)));
  const recorded = await events(trackerId);
  return { problems: judge(log, recorded), observations: log, events: recorded };
}

/** The reference model: what the owners were told must agree with the audit log, and both with the invariants. */
function judge(log: Observation[], events: ClaimEvent[]): string[] {
  const problems = checkClaimEvents(events).violations.map((v) => `audit: ${v.kind}: item ${v.identity.workItemId}: ${v.detail}`);
  const grants = events.filter((e) => e.kind === 'granted' || e.kind === 'reclaimed');
  const grantOf = (item: string, fencing: number) => grants.find((g) => g.identity.workItemId === item && g.fencingToken === fencing);
  const itemOf = (o: Observation) => `item-${(o.command as { item: number }).item}`;

  // Fencing: exactly one increment per grant, per item.
  const byItem = new Map<string, number[]>();
  for (const g of grants) byItem.set(g.identity.workItemId, [...(byItem.get(g.identity.workItemId) ?? []), g.fencingToken]);
  for (const [item, tokens] of byItem) {
    tokens.forEach((t, i) => {
      if (t !== i + 1) problems.push(`model: ${item}: grant #${i + 1} has fencing ${t}`);
    });
  }

  for (const o of log) {
    const item = itemOf(o);
    if (o.status === 'claimed' && !o.alreadyHeld) {
      const grant = grantOf(item, o.fencingToken!);
      if (!grant || grant.owner.ownerId !== `owner-${o.owner}`) problems.push(`model: owner-${o.owner} was granted ${item} fencing ${o.fencingToken} but the events do not show it`);
    }
    if (o.status === 'lost_race') {
      const grant = grantOf(item, o.holderFencing!);
      if (!grant || grant.owner.ownerId !== o.holderOwner) problems.push(`model: owner-${o.owner} lost ${item} to fencing ${o.holderFencing} (${o.holderOwner}), which no grant event shows`);
    }
    // A lease whose whole duration has passed on the owner's monotonic clock since the
    // response that set it is expired in database time too: it must not be accepted.
    const accepted = o.status === 'heartbeat' || (o.status === 'released' && !o.alreadyReleased) || o.status === 'verify:verified';
    if (accepted && o.leaseRenewedAt !== undefined && o.leaseMs !== undefined && o.sentAt > o.leaseRenewedAt + o.leaseMs + 1) {
      problems.push(`model: owner-${o.owner} ${o.command.kind} on ${item} fencing ${o.fencingToken} accepted ${(o.sentAt - o.leaseRenewedAt).toFixed(1)} ms after its ${o.leaseMs} ms lease was last set`);
    }
  }
  const count = (kind: ClaimEvent['kind'][]) => events.filter((e) => kind.includes(e.kind)).length;
  const told = (pred: (o: Observation) => boolean) => log.filter(pred).length;
  const pairs: [string, number, number][] = [
    ['grants', count(['granted', 'reclaimed']), told((o) => o.status === 'claimed' && !o.alreadyHeld)],
    ['heartbeats', count(['heartbeat']), told((o) => o.status === 'heartbeat')],
    ['releases', count(['released']), told((o) => o.status === 'released' && !o.alreadyReleased)],
  ];
  for (const [what, inEvents, toldOwners] of pairs) {
    if (inEvents !== toldOwners) problems.push(`model: ${inEvents} ${what} in the events, but owners were told of ${toldOwners}`);
  }
  return problems;
}

/** A readable counterexample: each owner's commands and what it was told. */
export function describeOutcome(history: History, outcome: HistoryOutcome): string {
  const lines = [`${history.items} item(s), ${history.owners.length} owners`];
  history.owners.forEach((plan, owner) => {
    lines.push(`owner-${owner} (host clock ${plan.skewMs >= 0 ? '+' : ''}${plan.skewMs} ms): ${plan.commands.map((c) => JSON.stringify(c)).join(' ')}`);
  });
  for (const o of [...outcome.observations].sort((a, b) => a.sentAt - b.sentAt)) {
    lines.push(`  t=${o.sentAt.toFixed(1)} owner-${o.owner} ${o.command.kind} ${'item' in o.command ? `item-${o.command.item}` : ''} -> ${o.status}${o.fencingToken ? ` fencing ${o.fencingToken}` : ''}${o.holderFencing ? ` holder fencing ${o.holderFencing}` : ''}`);
  }
  for (const e of outcome.events) lines.push(`  event ${e.eventId} ${e.kind} ${e.identity.workItemId} fencing ${e.fencingToken} ${e.owner.ownerId} at ${e.at} until ${e.expiresAt ?? '-'}`);
  lines.push(...outcome.problems.map((p) => `PROBLEM ${p}`));
  return lines.join('\n');
}
