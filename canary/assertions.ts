// The canary's assertions, shared by both runtimes (processes and containers). Pure functions
// over what the CLI printed and what the database holds: each returns the problems it found,
// as sentences, and an empty list when the step is right.
import type { CliOutcome } from './protocol.js';

export interface RunnerOutcome {
  /** The runner's name, e.g. runner-a. */
  runner: string;
  hostId: string;
  cli: CliOutcome;
}

interface AuthorityClaimJson {
  identity?: { workItemId?: string };
  fencingToken?: unknown;
  state?: unknown;
  expiresAt?: unknown;
  owner?: { hostId?: unknown };
  [key: string]: unknown;
}

interface ClaimNextJson {
  ok?: boolean;
  claim?: {
    status?: unknown;
    reason?: unknown;
    workItem?: { id?: unknown } | null;
    owner?: { hostId?: unknown; leaseToken?: unknown; expiresAt?: unknown } | null;
    authorityClaim?: AuthorityClaimJson | null;
    lostTo?: { workItemId?: unknown; fencingToken?: unknown; hostId?: unknown; expiresAt?: unknown }[];
    warnings?: unknown[];
  };
  error?: { code?: unknown; message?: unknown };
}

export interface RaceVerdict {
  problems: string[];
  /** Set when exactly one runner won. */
  winner?: RunnerOutcome;
  loser?: RunnerOutcome;
  /** The winner's fencing token, as its authorityClaim says. */
  fencingToken?: number;
  /** The fencing token the loser observed. */
  loserSaw?: number;
  /** The winner's lease expiry (database time). */
  expiresAt?: string;
}

function describe(o: RunnerOutcome): string {
  const json = o.cli.json as ClaimNextJson | null;
  if (!json) return `${o.runner}: exit ${o.cli.exitCode}, no JSON on stdout${o.cli.stderr ? ` (stderr: ${firstLine(o.cli.stderr)})` : ''}`;
  if (json.ok === false) return `${o.runner}: exit ${o.cli.exitCode}, error ${String(json.error?.code)}: ${String(json.error?.message)}`;
  const claim = json.claim;
  return `${o.runner}: exit ${o.cli.exitCode}, status ${String(claim?.status)}${claim?.reason ? ` (${String(claim.reason)})` : ''}`;
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function statusOf(o: RunnerOutcome): string | undefined {
  const status = (o.cli.json as ClaimNextJson | null)?.claim?.status;
  return typeof status === 'string' ? status : undefined;
}

/**
 * One round's race: both runners ran `work-item claim-next` for the same fresh item, started
 * together. Exactly one `claimed`, exactly one `lost_race`, and the loser names the winner.
 */
export function judgeRace(itemId: string, outcomes: readonly [RunnerOutcome, RunnerOutcome]): RaceVerdict {
  const problems: string[] = [];
  for (const o of outcomes) {
    const status = statusOf(o);
    if (o.cli.exitCode !== 0) problems.push(`claim-next of ${o.runner} exited ${o.cli.exitCode ?? o.cli.signal} (${describe(o)})`);
    if ((o.cli.json as ClaimNextJson | null)?.ok !== true) problems.push(`claim-next of ${o.runner} did not print { ok: true } (${describe(o)})`);
    if (status !== 'claimed' && status !== 'lost_race') problems.push(`claim-next of ${o.runner} returned ${status ?? 'nothing'}, expected claimed or lost_race (${describe(o)})`);
  }
  const claimed = outcomes.filter((o) => statusOf(o) === 'claimed');
  const lost = outcomes.filter((o) => statusOf(o) === 'lost_race');
  if (claimed.length !== 1) problems.push(`${claimed.length} runners returned claimed (${claimed.map((o) => o.runner).join(', ') || 'none'}); exactly one must win`);
  if (lost.length !== 1) problems.push(`${lost.length} runners returned lost_race (${lost.map((o) => o.runner).join(', ') || 'none'}); exactly one must lose`);
  if (claimed.length !== 1 || lost.length !== 1) return { problems };

  const winner = claimed[0]!;
  const loser = lost[0]!;
  const w = (winner.cli.json as ClaimNextJson).claim!;
  const l = (loser.cli.json as ClaimNextJson).claim!;
  const verdict: RaceVerdict = { problems, winner, loser };

  if (w.workItem?.id !== itemId) problems.push(`the winner ${winner.runner} claimed ${String(w.workItem?.id)}, not this round's item ${itemId}`);
  if (l.workItem?.id !== itemId) problems.push(`the loser ${loser.runner} lost the race for ${String(l.workItem?.id)}, not this round's item ${itemId}`);
  if (!w.owner || w.owner.hostId !== winner.hostId) problems.push(`the winner's owner is ${JSON.stringify(w.owner?.hostId)}, expected host ${winner.hostId}`);
  if (!w.owner || w.owner.leaseToken === undefined) problems.push(`the winner ${winner.runner} got no lease token`);
  if (l.owner) problems.push(`the loser ${loser.runner} got an owner record (a lease) although it lost`);

  const wc = w.authorityClaim;
  if (!wc) {
    problems.push(`the winner's result has no authorityClaim`);
  } else {
    if (!isPositiveInteger(wc.fencingToken)) problems.push(`the winner's fencing token is ${JSON.stringify(wc.fencingToken)}, not a positive integer`);
    else verdict.fencingToken = wc.fencingToken;
    if (wc.state !== 'active') problems.push(`the winner's claim is ${JSON.stringify(wc.state)}, not active`);
    if (wc.owner?.hostId !== winner.hostId) problems.push(`the winner's authorityClaim names host ${JSON.stringify(wc.owner?.hostId)}, not ${winner.hostId}`);
    if (typeof wc.expiresAt === 'string') verdict.expiresAt = wc.expiresAt;
  }

  const lc = l.authorityClaim;
  if (!lc) {
    problems.push(`the loser's result has no authorityClaim (it must observe the winner's claim)`);
  } else {
    if (isPositiveInteger(lc.fencingToken)) verdict.loserSaw = lc.fencingToken;
    if (lc.fencingToken !== wc?.fencingToken) {
      problems.push(`the loser ${loser.runner} observed fencing token ${JSON.stringify(lc.fencingToken)}, the winner ${winner.runner} holds ${JSON.stringify(wc?.fencingToken)}`);
    }
    if (lc.owner?.hostId !== winner.hostId) problems.push(`the loser observed holder ${JSON.stringify(lc.owner?.hostId)}, the winner is ${winner.hostId}`);
    if (JSON.stringify(lc).toLowerCase().includes('leasetoken')) problems.push(`the loser's view of the winner's claim carries a lease token field`);
  }
  const lostTo = (l.lostTo ?? []).find((entry) => entry.workItemId === itemId);
  if (!lostTo) problems.push(`the loser's lostTo does not name ${itemId}`);
  else {
    if (lostTo.fencingToken !== wc?.fencingToken) problems.push(`the loser's lostTo says fencing token ${JSON.stringify(lostTo.fencingToken)}, the winner holds ${JSON.stringify(wc?.fencingToken)}`);
    if (lostTo.hostId !== winner.hostId) problems.push(`the loser's lostTo names host ${JSON.stringify(lostTo.hostId)}, the winner is ${winner.hostId}`);
  }
  return verdict;
}

/** The winner renews its claim: same fencing token, still active, expiry not earlier. */
export function judgeHeartbeat(cli: CliOutcome, expected: { itemId: string; fencingToken: number; expiresAt?: string }): string[] {
  const problems: string[] = [];
  const json = cli.json as { ok?: boolean; heartbeat?: { status?: unknown; claim?: AuthorityClaimJson }; error?: { code?: unknown } } | null;
  if (cli.exitCode !== 0 || json?.ok !== true) {
    return [`the winner's heartbeat failed: exit ${cli.exitCode}, ${json ? `error ${String(json.error?.code)}` : `no JSON (${firstLine(cli.stderr)})`}`];
  }
  if (json.heartbeat?.status !== 'heartbeat') problems.push(`the heartbeat returned status ${JSON.stringify(json.heartbeat?.status)}, expected heartbeat`);
  const claim = json.heartbeat?.claim;
  if (claim?.fencingToken !== expected.fencingToken) problems.push(`the heartbeat changed the fencing token to ${JSON.stringify(claim?.fencingToken)} (was ${expected.fencingToken})`);
  if (claim?.state !== 'active') problems.push(`after the heartbeat the claim is ${JSON.stringify(claim?.state)}, not active`);
  if (expected.expiresAt && typeof claim?.expiresAt === 'string' && claim.expiresAt < expected.expiresAt) {
    problems.push(`the heartbeat moved the expiry back (${claim.expiresAt} < ${expected.expiresAt})`);
  }
  return problems;
}

/** Someone without the lease (a random lease token) tries to release: refused, exit 3. */
export function judgeForeignRelease(cli: CliOutcome): string[] {
  const json = cli.json as { ok?: boolean; error?: { code?: unknown } } | null;
  if (json?.ok === false && cli.exitCode === 3) return [];
  return [`a release with a foreign lease token was not refused: exit ${cli.exitCode}, ${json ? `ok ${String(json.ok)}` : 'no JSON'}`];
}

/** The winner releases its claim: released, not "already released", same fencing token. */
export function judgeRelease(cli: CliOutcome, expected: { fencingToken: number }): string[] {
  const problems: string[] = [];
  const json = cli.json as { ok?: boolean; release?: { status?: unknown; alreadyReleased?: unknown; claim?: AuthorityClaimJson }; error?: { code?: unknown } } | null;
  if (cli.exitCode !== 0 || json?.ok !== true) {
    return [`the winner's release failed: exit ${cli.exitCode}, ${json ? `error ${String(json.error?.code)}` : `no JSON (${firstLine(cli.stderr)})`}`];
  }
  if (json.release?.status !== 'released') problems.push(`the release returned status ${JSON.stringify(json.release?.status)}, expected released`);
  if (json.release?.alreadyReleased !== false) problems.push(`the release says alreadyReleased ${JSON.stringify(json.release?.alreadyReleased)}, expected false`);
  if (json.release?.claim?.state !== 'released') problems.push(`the released claim is ${JSON.stringify(json.release?.claim?.state)}, not released`);
  if (json.release?.claim?.fencingToken !== expected.fencingToken) problems.push(`the released claim has fencing token ${JSON.stringify(json.release?.claim?.fencingToken)}, expected ${expected.fencingToken}`);
  return problems;
}

/** `claims inspect` lists the item among the released claims, and nowhere else. */
export function judgeInspect(cli: CliOutcome, expected: { itemId: string; fencingToken: number }): string[] {
  const json = cli.json as { ok?: boolean; inspect?: Record<'active' | 'stale' | 'released', AuthorityClaimJson[] | undefined> } | null;
  if (cli.exitCode !== 0 || json?.ok !== true || !json.inspect) {
    return [`claims inspect failed: exit ${cli.exitCode}, ${json ? `ok ${String(json.ok)}` : `no JSON (${firstLine(cli.stderr)})`}`];
  }
  const problems: string[] = [];
  const find = (list: AuthorityClaimJson[] | undefined) => (list ?? []).filter((c) => c.identity?.workItemId === expected.itemId);
  const released = find(json.inspect.released);
  const active = find(json.inspect.active);
  const stale = find(json.inspect.stale);
  if (released.length !== 1) problems.push(`claims inspect lists ${released.length} released claims of ${expected.itemId}, expected 1`);
  if (active.length + stale.length > 0) problems.push(`claims inspect still lists ${expected.itemId} as ${active.length ? 'active' : 'stale'}`);
  if (released[0] && released[0].fencingToken !== expected.fencingToken) problems.push(`claims inspect shows fencing token ${JSON.stringify(released[0].fencingToken)}, expected ${expected.fencingToken}`);
  return problems;
}

export interface ClaimRow {
  state: string;
  fencing_token: string | number;
  host_id: string;
  released_at: string | Date | null;
}

/** The database row itself (read with pg, not through the CLI): released, by the winner. */
export function judgeDbRow(rows: readonly ClaimRow[], expected: { itemId: string; fencingToken: number; winnerHostId: string }): string[] {
  if (rows.length !== 1) return [`the database holds ${rows.length} claim rows for ${expected.itemId}, expected exactly 1`];
  const row = rows[0]!;
  const problems: string[] = [];
  if (row.state !== 'released') problems.push(`the database row of ${expected.itemId} is ${row.state}, not released`);
  if (Number(row.fencing_token) !== expected.fencingToken) problems.push(`the database row has fencing token ${row.fencing_token}, expected ${expected.fencingToken}`);
  if (row.host_id !== expected.winnerHostId) problems.push(`the database row names host ${row.host_id}, the winner is ${expected.winnerHostId}`);
  if (row.released_at === null) problems.push(`the database row has no released_at`);
  return problems;
}

/** After all rounds: the audit checker passes over the event log, which has every grant. */
export function judgeAudit(cli: CliOutcome, expected: { minGrants: number }): string[] {
  const json = cli.json as { ok?: boolean; audit?: { ok?: unknown; grants?: unknown; eventsChecked?: unknown; violations?: unknown[] }; error?: { code?: unknown; message?: unknown } } | null;
  if (!json?.audit) return [`claims audit printed no audit: exit ${cli.exitCode}, ${json ? `error ${String(json.error?.code)}: ${String(json.error?.message)}` : `no JSON (${firstLine(cli.stderr)})`}`];
  const problems: string[] = [];
  const violations = json.audit.violations ?? [];
  if (json.audit.ok !== true || json.ok !== true || cli.exitCode !== 0 || violations.length > 0) {
    problems.push(`claims audit found ${violations.length} violation(s) (exit ${cli.exitCode}): ${JSON.stringify(violations.slice(0, 3))}`);
  }
  if (typeof json.audit.grants === 'number' && json.audit.grants < expected.minGrants) {
    problems.push(`claims audit counted ${json.audit.grants} grants, the canary made at least ${expected.minGrants}`);
  }
  return problems;
}

/** The grant events of one item in the audit log: exactly one per round (one winner). */
export function judgeGrantEvents(counts: ReadonlyMap<string, number>, itemIds: readonly string[]): string[] {
  const problems: string[] = [];
  for (const id of itemIds) {
    const n = counts.get(id) ?? 0;
    if (n !== 1) problems.push(`the event log has ${n} grant events for ${id}, expected exactly 1`);
  }
  return problems;
}

/** Names of the secrets that occur in `text` (never the secrets themselves). */
export function findSecrets(text: string, secrets: readonly { name: string; value: string | undefined }[]): string[] {
  return secrets.filter((s) => s.value && s.value.length >= 6 && text.includes(s.value)).map((s) => s.name);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
