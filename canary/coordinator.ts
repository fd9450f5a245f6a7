// The canary's rounds, the same for both runtimes: given two started runners and the claim
// database, race them for a fresh work item per round and check every step (assertions.ts).
import { randomInt } from 'node:crypto';
import {
  findSecrets,
  judgeAudit,
  judgeDbRow,
  judgeForeignRelease,
  judgeGrantEvents,
  judgeHeartbeat,
  judgeInspect,
  judgeRace,
  judgeRelease,
  type RunnerOutcome,
} from './assertions.js';
import type { CanaryDatabase } from './database.js';
import type { RunnerHandle } from './line-runner.js';
import type { CliOutcome, RunnerRequestBody, RunnerResponse } from './protocol.js';

export interface Secret {
  name: string;
  value: string | undefined;
}

/** Every line the canary prints goes through here: known secrets are replaced, and kept for the final leak check. */
export class Reporter {
  private readonly lines: string[] = [];
  constructor(
    readonly prefix: string,
    private readonly secrets: Secret[] = [],
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  addSecret(secret: Secret): void {
    this.secrets.push(secret);
  }

  private muted = false;

  /** After Ctrl-C: the interrupted run's own lines stop; cleanup lines still print (`always`). */
  mute(): void {
    this.muted = true;
  }

  line(text: string): void {
    if (this.muted) return;
    this.always(text);
  }

  always(text: string): void {
    let out = text;
    for (const s of this.secrets) if (s.value && s.value.length >= 6) out = out.split(s.value).join(`[${s.name} redacted]`);
    const line = `${this.prefix} ${out}`;
    this.lines.push(line);
    this.write(line);
  }

  raw(text: string): void {
    this.lines.push(text);
    this.write(text);
  }

  transcript(): string {
    return this.lines.join('\n');
  }

  secretList(): Secret[] {
    return [...this.secrets];
  }
}

export interface CanaryOptions {
  rounds: number;
  gate: 'db' | 'none';
  projectId: string;
  runId: string;
}

interface RoundRow {
  round: number;
  item: string;
  winner: string;
  fencing: string;
  loserSaw: string;
  gate: string;
  heartbeat: string;
  release: string;
  inspect: string;
  row: string;
  ms: number;
  problems: string[];
}

export async function runCanary(runners: readonly [RunnerHandle, RunnerHandle], db: CanaryDatabase, options: CanaryOptions, out: Reporter): Promise<boolean> {
  const started = Date.now();
  const failures: string[] = [];
  const ask = async (runner: RunnerHandle, body: RunnerRequestBody): Promise<RunnerResponse> => {
    const response = await runner.request(body);
    if (!response.ok) throw new Error(`runner ${runner.name} could not do ${body.op}: ${response.error}`);
    return response;
  };
  const cliOk = (runner: RunnerHandle, what: string, response: RunnerResponse): CliOutcome => {
    const cli = response.cli!;
    const json = cli.json as { ok?: boolean; error?: { code?: string; message?: string } } | null;
    if (cli.exitCode !== 0 || json?.ok !== true) {
      throw new Error(`${what} in ${runner.name} failed: exit ${cli.exitCode}, ${json?.error ? `${json.error.code}: ${json.error.message}` : cli.stderr.trim().split('\n')[0] ?? 'no output'}`);
    }
    return cli;
  };

  await Promise.all(runners.map(async (r) => cliOk(r, 'dev-nexus init', await ask(r, { op: 'init', projectId: options.projectId, schema: db.schema }))));
  out.line(`both runners ran \`dev-nexus init\` (project ${options.projectId}, backend postgres, schema ${db.schema}); ${options.rounds} rounds, race gate: ${options.gate === 'db' ? 'database lock (both claim statements in flight before either commits)' : 'none (stdin barrier only)'}`);

  const rows: RoundRow[] = [];
  const items: string[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const roundStarted = Date.now();
    const itemId = `canary-${options.runId}-r${String(round).padStart(2, '0')}`;
    const row: RoundRow = { round, item: itemId, winner: '-', fencing: '-', loserSaw: '-', gate: '-', heartbeat: '-', release: '-', inspect: '-', row: '-', ms: 0, problems: [] };
    rows.push(row);
    try {
      // A fresh eligible item, present in both runners' workspaces.
      await Promise.all(runners.map(async (r) => cliOk(r, 'work-item add', await ask(r, { op: 'add', itemId, title: `canary round ${round}` }))));
      items.push(itemId);

      // The race. Each runner starts its claim-next CLI up to the start barrier (Node started,
      // modules loaded); then both "go" lines are written in the same tick.
      await Promise.all(runners.map((r) => ask(r, { op: 'arm' })));
      const gate = options.gate === 'db' ? await db.openGate() : null;
      let race: [RunnerResponse, RunnerResponse];
      try {
        // Which line is written first alternates at random, so neither runner is always first in line.
        const order = randomInt(2) === 0 ? [0, 1] : [1, 0];
        const pending: Promise<RunnerResponse>[] = [];
        for (const i of order) pending[i] = runners[i]!.send({ op: 'claim-next' });
        if (gate) {
          const waited = await gate.waitForWaiters(2, { firstWithinMs: 10_000, restWithinMs: 1_500 });
          row.gate = `${waited.waiters}/2 @${waited.ms}ms`;
          await gate.open();
        }
        race = (await Promise.all(pending)) as [RunnerResponse, RunnerResponse];
      } finally {
        await gate?.open();
      }
      for (const [i, response] of race.entries()) {
        if (!response.ok || !response.cli) throw new Error(`runner ${runners[i]!.name} could not run claim-next: ${response.error}`);
      }
      const outcomes = race.map((response, i) => ({ runner: runners[i]!.name, hostId: runners[i]!.hostId, cli: response.cli! })) as [RunnerOutcome, RunnerOutcome];
      const verdict = judgeRace(itemId, outcomes);
      row.problems.push(...verdict.problems);
      if (verdict.winner) row.winner = verdict.winner.runner;
      if (verdict.fencingToken !== undefined) row.fencing = String(verdict.fencingToken);
      if (verdict.loserSaw !== undefined) row.loserSaw = String(verdict.loserSaw);

      if (verdict.winner && verdict.loser && verdict.fencingToken !== undefined) {
        const winner = runners.find((r) => r.name === verdict.winner!.runner)!;
        const loser = runners.find((r) => r.name === verdict.loser!.runner)!;
        const fencingToken = verdict.fencingToken;

        // The loser never sees the winner's lease token (only the winner can tell: it holds it).
        const leak = await ask(winner, { op: 'leaks', text: `${verdict.loser.cli.stdout}\n${verdict.loser.cli.stderr}` });
        if (leak.leaks) row.problems.push(`the loser's claim-next output contains the winner's lease token`);

        // Without the lease, the loser cannot release the winner's claim; meanwhile the winner renews it.
        const [foreign, heartbeat] = await Promise.all([
          ask(loser, { op: 'release-foreign', itemId, fencingToken }),
          ask(winner, { op: 'heartbeat', itemId, fencingToken }),
        ]);
        row.problems.push(...judgeForeignRelease(foreign.cli!));
        const hbProblems = judgeHeartbeat(heartbeat.cli!, { itemId, fencingToken, expiresAt: verdict.expiresAt });
        row.heartbeat = hbProblems.length ? 'FAIL' : 'ok';
        row.problems.push(...hbProblems);

        const release = await ask(winner, { op: 'release', itemId, fencingToken });
        const relProblems = judgeRelease(release.cli!, { fencingToken });
        row.release = relProblems.length ? 'FAIL' : 'ok';
        row.problems.push(...relProblems);

        // The other host's view, through the CLI; then the row itself, read with pg.
        const inspect = await ask(loser, { op: 'inspect' });
        const inspectProblems = judgeInspect(inspect.cli!, { itemId, fencingToken });
        row.inspect = inspectProblems.length ? 'FAIL' : 'released';
        row.problems.push(...inspectProblems);

        const dbProblems = judgeDbRow(await db.readClaimRows(options.projectId, itemId), { itemId, fencingToken, winnerHostId: verdict.winner.hostId });
        row.row = dbProblems.length ? 'FAIL' : 'released';
        row.problems.push(...dbProblems);
      }
    } catch (error) {
      row.problems.push((error as Error).message);
    }
    // Done in both workspaces, so later rounds race only for their own item.
    await Promise.all(runners.map((r) => r.request({ op: 'set-status', itemId, status: 'done' }).catch(() => undefined)));
    row.ms = Date.now() - roundStarted;
    const raceLine = row.winner === '-' ? 'no single winner' : `${row.winner} won (fencing ${row.fencing}), the other lost_race and saw fencing ${row.loserSaw}`;
    const gateNote = row.gate === '-' ? '' : `; gate: ${row.gate.replace('@', 'waiting after ')}`;
    if (row.problems.length === 0) {
      out.line(`round ${round}/${options.rounds} ${itemId}: ${raceLine}${gateNote}; heartbeat, foreign release refused, release, inspect, db row: ok (${row.ms} ms)`);
    } else {
      out.line(`round ${round}/${options.rounds} ${itemId}: FAIL: ${raceLine}${gateNote}`);
      for (const p of row.problems) out.line(`  - ${p}`);
      failures.push(...row.problems.map((p) => `round ${round}: ${p}`));
    }
  }

  // After all rounds: the audit checker over the event log, and one grant per item in it.
  let auditNote = '';
  try {
    const audit = await ask(runners[0], { op: 'audit' });
    const winners = rows.filter((r) => r.winner !== '-').length;
    const auditProblems = judgeAudit(audit.cli!, { minGrants: winners });
    const grantProblems = judgeGrantEvents(await db.grantCounts(options.projectId), items);
    const json = audit.cli!.json as { audit?: { itemsChecked?: number; eventsChecked?: number; grants?: number } } | null;
    auditNote = `claims audit: ${auditProblems.length ? 'FAIL' : 'ok'} (${json?.audit?.itemsChecked ?? '?'} items, ${json?.audit?.eventsChecked ?? '?'} events, ${json?.audit?.grants ?? '?'} grants); grant events per item: ${grantProblems.length ? 'FAIL' : 'exactly 1 each'}`;
    for (const p of [...auditProblems, ...grantProblems]) failures.push(`audit: ${p}`);
  } catch (error) {
    failures.push(`audit: ${(error as Error).message}`);
    auditNote = `claims audit: FAIL (${(error as Error).message})`;
  }

  printTable(out, rows);
  out.line(auditNote);

  // No secret in anything printed: the connection strings and passwords the canary knows,
  // and every lease token (only their runners can tell).
  const transcript = out.transcript();
  const found = findSecrets(transcript, out.secretList());
  for (const runner of runners) {
    const answer = await runner.request({ op: 'leaks', text: transcript }).catch(() => null);
    if (answer?.leaks) found.push(`a lease token of ${runner.name}`);
  }
  if (found.length > 0) failures.push(`secrets in the canary's output: ${found.join(', ')}`);

  const wins = runners.map((r) => `${r.name} ${rows.filter((row) => row.winner === r.name).length}`).join(', ');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length === 0) {
    out.line(`PASS: ${options.rounds}/${options.rounds} rounds with exactly one winner; wins: ${wins}; audit ok; no secret in the output (${seconds} s)`);
    return true;
  }
  const failedRounds = rows.filter((r) => r.problems.length > 0).length;
  out.line(`FAIL: ${failedRounds}/${options.rounds} rounds failed, ${failures.length} problem(s) (${seconds} s); first: ${failures[0]}`);
  return false;
}

function printTable(out: Reporter, rows: readonly RoundRow[]): void {
  const header = ['round', 'item', 'winner', 'fencing', 'loser saw', 'gate', 'heartbeat', 'release', 'inspect', 'db row', 'ms', 'result'];
  const body = rows.map((r) => [String(r.round), r.item, r.winner, r.fencing, r.loserSaw, r.gate, r.heartbeat, r.release, r.inspect, r.row, String(r.ms), r.problems.length ? 'FAIL' : 'ok']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out.line(format(header));
  out.line(format(widths.map((w) => '-'.repeat(w))));
  for (const b of body) out.line(format(b));
}
