// The race canary, container runtime (npm run smoke:postgres-containers): a temporary runner
// image built from the current checkout, a private --internal Docker network, a PostgreSQL
// container and two isolated runner containers (own workspace, own DEV_NEXUS_HOME, own host
// id) racing through the real `dev-nexus` CLI, checked with the same assertions as the
// process runtime. Everything it creates is removed at the end, on failure and on Ctrl-C.
//
//   node build/canary/containers.js [--rounds 10] [--gate db|none] [--postgres-image IMAGE]
//
// Environment: DEV_NEXUS_CANARY_POSTGRES_IMAGE (default postgres:16-alpine where it can be
// pulled, else the offline base image), DEV_NEXUS_CANARY_BASE_IMAGE (skip
// docker/build-base-image.sh), DEV_NEXUS_CANARY_PG_PASSWORD, DEV_NEXUS_CANARY_MUTANT.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import pg from 'pg';
import { Reporter, runCanary } from './coordinator.js';
import { prepareDatabase } from './database.js';
import { assembleRunnerContext, newContextDir } from './image-context.js';
import { LineRunner } from './line-runner.js';
import { Cleanup, newRunId, parseOptions, withTimeout } from './options.js';
import { repoRoot } from './paths.js';

const USAGE = `usage: node build/canary/containers.js [--rounds N] [--gate db|none] [--postgres-image IMAGE]
  Two runner containers race for a fresh work item per round through the real dev-nexus CLI,
  against a PostgreSQL container on a private internal network. Needs a Docker engine
  (docker/ensure-engine.sh starts one on our machines).`;

const DEFAULT_POSTGRES_IMAGE = 'postgres:16-alpine';
const LABEL = 'dev-nexus-canary';
const PG_PORT = 5432;

const TIMEOUTS = {
  engineStart: 180_000,
  baseImage: 20 * 60_000,
  runnerImage: 5 * 60_000,
  pull: 60_000,
  containerStart: 60_000,
  postgresReady: 90_000,
  runnerReady: 60_000,
  /** One plain Docker API call (create, inspect, remove). */
  api: 30_000,
};

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), USAGE);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const runId = newRunId();
  const out = new Reporter('[canary:containers]');
  const cleanup = new Cleanup((line) => out.always(line));
  cleanup.onSignals(() => out.mute());
  const started = Date.now();
  const timings: string[] = [];
  const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const result = await run();
    timings.push(`${what} ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return result;
  };
  const docker = new Docker();
  const labels = { [LABEL]: 'true', [`${LABEL}.run`]: runId, [`${LABEL}.pid`]: String(process.pid) };
  const names = {
    image: `dev-nexus-canary-runner:${runId}`,
    network: `dev-nexus-canary-${runId}`,
    postgres: `dev-nexus-canary-${runId}-postgres`,
    runner: (letter: string) => `dev-nexus-canary-${runId}-runner-${letter}`,
  };
  let ok = false;
  try {
    const mutant = process.env.DEV_NEXUS_CANARY_MUTANT;
    out.line(`run ${runId}: two runner containers race through the dev-nexus CLI of this checkout${mutant ? `; MUTANT ${mutant}: the runners' CLI goes through canary/mutant-cli (a deliberately broken authority) and this run must FAIL` : ''}`);

    await timed('engine', () => ensureEngine(docker, out));
    await sweepLeftovers(docker, out);

    const baseImage = await timed('base image', () => baseImageTag(out));
    const pgImage = await choosePostgresImage(docker, options.postgresImage, baseImage, out);

    // The runner image, from the current checkout.
    cleanup.add(`remove image ${names.image}`, () => ignoreMissing(docker.getImage(names.image).remove({ force: true })));
    const contextDir = await newContextDir();
    cleanup.add('remove the image build context', () => rm(contextDir, { recursive: true, force: true }));
    const context = await assembleRunnerContext(repoRoot, contextDir);
    await timed('runner image', () => buildRunnerImage(docker, context.dir, names.image, baseImage, labels));
    out.line(`built ${names.image} FROM ${baseImage} (dist/, build/canary/, and the ${context.modules.length} packages of the runtime dependency closure copied from node_modules)`);

    // The private network: containers talk only to each other.
    cleanup.add(`remove network ${names.network}`, () => ignoreMissing(docker.getNetwork(names.network).remove()));
    await withTimeout(docker.createNetwork({ Name: names.network, Internal: true, CheckDuplicate: true, Labels: labels }), TIMEOUTS.api, 'creating the network');

    // PostgreSQL.
    const password = process.env.DEV_NEXUS_CANARY_PG_PASSWORD || randomBytes(12).toString('hex');
    out.addSecret({ name: 'database password', value: password });
    cleanup.add(`remove container ${names.postgres}`, () => ignoreMissing(docker.getContainer(names.postgres).remove({ force: true, v: true })));
    const postgresIp = await timed('postgres ready', () => startPostgres(docker, { name: names.postgres, network: names.network, image: pgImage, password, labels, out }));
    const adminUrl = `postgres://postgres:${password}@${postgresIp}:${PG_PORT}/postgres`;
    out.addSecret({ name: 'database URL', value: adminUrl });

    const db = await prepareDatabase(adminUrl, { runId, log: (l) => out.line(l) });
    cleanup.add('close the canary database connection', () => db.close());
    const login = db.role ? `${db.role.name}:${db.role.password}` : `postgres:${password}`;
    const runnerUrl = `postgres://${login}@postgres:${PG_PORT}/postgres`;
    out.addSecret({ name: 'runtime role URL', value: runnerUrl });
    out.addSecret({ name: 'runtime role password', value: db.role?.password });
    out.line(`PostgreSQL: container ${names.postgres} (${pgImage.description}) on internal network ${names.network}; ${db.description}`);

    // Two runner containers.
    const runners: LineRunner[] = [];
    await timed('runners ready', async () => {
      for (const letter of ['a', 'b']) {
        const name = `runner-${letter}`;
        const hostId = `canary-host-${letter}`;
        const containerName = names.runner(letter);
        cleanup.add(`remove container ${containerName}`, () => ignoreMissing(docker.getContainer(containerName).remove({ force: true, v: true })));
        const env = [
          `CANARY_RUNNER_NAME=${name}`,
          `CANARY_HOST_ID=${hostId}`,
          'CANARY_WORKSPACE=/canary/workspace',
          'DEV_NEXUS_HOME=/canary/home',
          'CANARY_CLI=/app/dist/cli/main.js',
          `DEV_NEXUS_CLAIMS_DATABASE_URL=${runnerUrl}`,
          'HOME=/canary',
        ];
        if (mutant) env.push(`DEV_NEXUS_CANARY_MUTANT=${mutant}`);
        if (process.env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS) env.push(`DEV_NEXUS_CANARY_MUTANT_SKEW_MS=${process.env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS}`);
        const container = await withTimeout(docker.createContainer({
          name: containerName,
          Image: names.image,
          Hostname: hostId,
          Env: env,
          Labels: labels,
          OpenStdin: true,
          StdinOnce: false,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          HostConfig: { NetworkMode: names.network },
          NetworkingConfig: { EndpointsConfig: { [names.network]: {} } },
        }), TIMEOUTS.api, `creating ${containerName}`);
        // Attach before start, so no line is missed; stdout and stderr arrive multiplexed.
        const stream = (await withTimeout(
          container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }),
          TIMEOUTS.containerStart,
          `attaching to ${containerName}`,
        )) as Duplex;
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        docker.modem.demuxStream(stream, stdout, stderr);
        stream.on('end', () => {
          stdout.end();
          stderr.end();
        });
        stream.on('error', () => {});
        runners.push(new LineRunner(name, hostId, stream, stdout, stderr));
        await withTimeout(container.start(), TIMEOUTS.containerStart, `starting ${containerName}`);
      }
      const hellos = await Promise.all(runners.map((r) => r.ready(TIMEOUTS.runnerReady)));
      out.line(`runners: ${hellos.map((h, i) => `${h.name} (container ${names.runner(['a', 'b'][i]!)}, host ${h.hostId}, node ${h.node})`).join('; ')}; each with its own /canary/workspace and DEV_NEXUS_HOME=/canary/home`);
    });

    ok = await timed('rounds', () => runCanary([runners[0]!, runners[1]!], db, { rounds: options.rounds, gate: options.gate, projectId: options.projectId, runId }, out));
  } catch (error) {
    out.line(`FAIL: ${(error as Error).message}`);
    ok = false;
  }
  const problems = await cleanup.run();
  for (const p of problems) out.always(`cleanup: ${p}`);
  const left = await leftovers(docker, runId).catch((error: Error) => `could not list: ${error.message}`);
  out.line(left ? `cleanup: LEFT BEHIND ${left}` : `cleanup: every container, network and image of run ${runId} is removed`);
  out.line(`timings: ${timings.join(', ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out.line(`container canary ${ok && !left ? 'passed' : 'FAILED'}`);
  return ok && !left ? 0 : 1;
}

/** A Docker engine must answer; on our machines docker/ensure-engine.sh installs and starts one. */
async function ensureEngine(docker: Docker, out: Reporter): Promise<void> {
  if (await pings(docker)) {
    out.line('Docker engine: answers');
    return;
  }
  out.line('Docker engine: none answers; running docker/ensure-engine.sh');
  const code = await runScript(join(repoRoot, 'docker', 'ensure-engine.sh'), [], TIMEOUTS.engineStart, (line) => out.line(`  ${line}`));
  if (code !== 0 || !(await pings(docker))) throw new Error('no Docker engine answers and docker/ensure-engine.sh could not start one');
}

async function pings(docker: Docker): Promise<boolean> {
  try {
    await withTimeout(docker.ping(), 10_000, 'docker ping');
    return true;
  } catch {
    return false;
  }
}

async function baseImageTag(out: Reporter): Promise<string> {
  const given = process.env.DEV_NEXUS_CANARY_BASE_IMAGE;
  if (given) {
    out.line(`base image: ${given} (DEV_NEXUS_CANARY_BASE_IMAGE)`);
    return given;
  }
  let tag = '';
  const code = await runScript(join(repoRoot, 'docker', 'build-base-image.sh'), [], TIMEOUTS.baseImage, (line) => out.line(`  ${line}`), (line) => (tag = line.trim() || tag));
  if (code !== 0 || !tag) throw new Error('docker/build-base-image.sh failed');
  out.line(`base image: ${tag}`);
  return tag;
}

/** Run a script; stderr lines go to `onStderr`, stdout lines to `onStdout` (default: also to onStderr). Bounded. */
function runScript(path: string, args: string[], timeoutMs: number, onStderr: (line: string) => void, onStdout?: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      onStderr(`${path} took longer than ${timeoutMs} ms; stopping it`);
      child.kill('SIGTERM');
    }, timeoutMs);
    const lines = (stream: NodeJS.ReadableStream, sink: (line: string) => void) => {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
          sink(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
        }
      });
      stream.on('end', () => buffer && sink(buffer));
    };
    lines(child.stdout, onStdout ?? onStderr);
    lines(child.stderr, onStderr);
    child.on('error', (error) => onStderr(`cannot run ${path}: ${error.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

async function buildRunnerImage(docker: Docker, contextDir: string, tag: string, baseImage: string, labels: Record<string, string>): Promise<void> {
  const stream = await docker.buildImage(
    { context: contextDir, src: ['Dockerfile', 'package.json', 'dist', 'build', 'node_modules'] },
    { t: tag, buildargs: { BASE_IMAGE: baseImage }, labels, rm: true, forcerm: true, pull: false },
  );
  const tail: string[] = [];
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null, events: { error?: string }[]) => {
          const failed = error?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(`building ${tag} failed: ${failed}; last output: ${tail.join(' | ')}`));
          else resolve();
        },
        (event: { stream?: string }) => {
          if (event.stream?.trim()) {
            tail.push(event.stream.trim());
            if (tail.length > 5) tail.shift();
          }
        },
      );
    }),
    TIMEOUTS.runnerImage,
    `building ${tag}`,
  );
}

interface PostgresImage {
  image: string;
  kind: 'official' | 'base';
  description: string;
}

/** The requested image (default postgres:16-alpine) if present or pullable; else the offline base image, and say so. */
async function choosePostgresImage(docker: Docker, requested: string | null, baseImage: string, out: Reporter): Promise<PostgresImage> {
  const image = requested ?? DEFAULT_POSTGRES_IMAGE;
  const kind = image === baseImage ? 'base' : 'official';
  if (await imageExists(docker, image)) return { image, kind, description: `${image}, present in the engine` };
  const pulled = await pull(docker, image);
  if (pulled === null) return { image, kind, description: `${image}, pulled` };
  if (requested) throw new Error(`the PostgreSQL image ${image} is not in the engine and cannot be pulled (${pulled})`);
  out.line(`PostgreSQL image: ${image} cannot be pulled here (${pulled}); using the offline base image ${baseImage} (Debian's PostgreSQL, initdb as the postgres user)`);
  return { image: baseImage, kind: 'base', description: `${baseImage}, because ${image} cannot be pulled` };
}

async function imageExists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Pull an image, bounded; null on success, else the reason. */
async function pull(docker: Docker, image: string): Promise<string | null> {
  try {
    const stream = await withTimeout(docker.pull(image) as Promise<NodeJS.ReadableStream>, TIMEOUTS.pull, `pulling ${image}`);
    await withTimeout(
      new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()))),
      TIMEOUTS.pull,
      `pulling ${image}`,
    );
    return null;
  } catch (error) {
    return ((error as Error).message ?? String(error)).split('\n')[0]!.slice(0, 200);
  }
}

/** The base image has PostgreSQL but no entrypoint for it: initdb with the password, then run the server, as the postgres user. */
const BASE_IMAGE_POSTGRES_SCRIPT = [
  'set -e',
  'D=/tmp/pgdata',
  'umask 077',
  'printf "%s\\n" "$POSTGRES_PASSWORD" > /tmp/pwfile',
  'initdb -D "$D" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile=/tmp/pwfile -E UTF8 --locale=C.UTF-8 > /tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }',
  'rm -f /tmp/pwfile',
  'echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"',
  'exec postgres -D "$D" -c listen_addresses="*" -c unix_socket_directories=/tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off',
].join('\n');

async function startPostgres(
  docker: Docker,
  args: { name: string; network: string; image: PostgresImage; password: string; labels: Record<string, string>; out: Reporter },
): Promise<string> {
  const base = args.image.kind === 'base';
  const container = await withTimeout(docker.createContainer({
    name: args.name,
    Image: args.image.image,
    Hostname: 'postgres',
    Labels: args.labels,
    Env: [`POSTGRES_PASSWORD=${args.password}`],
    ...(base ? { User: 'postgres', Entrypoint: ['bash', '-c', BASE_IMAGE_POSTGRES_SCRIPT], Cmd: [] } : { Cmd: ['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off'] }),
    HostConfig: { NetworkMode: args.network },
    NetworkingConfig: { EndpointsConfig: { [args.network]: { Aliases: ['postgres'] } } },
  }), TIMEOUTS.api, `creating ${args.name}`);
  await withTimeout(container.start(), TIMEOUTS.containerStart, `starting ${args.name}`);
  const info = await container.inspect();
  const ip = info.NetworkSettings.Networks[args.network]?.IPAddress;
  if (!ip) throw new Error(`${args.name} has no address on ${args.network}`);
  // Ready when a real login over TCP answers (the official image's init server listens on no TCP port).
  const deadline = Date.now() + TIMEOUTS.postgresReady;
  let lastError = '';
  for (;;) {
    const state = (await container.inspect()).State;
    if (!state.Running) {
      const logs = (await container.logs({ stdout: true, stderr: true, tail: 10 })).toString('utf8').replace(/[\x00-\x08]/g, '');
      throw new Error(`${args.name} exited (${state.ExitCode}) before it was ready; its log ends: ${logs.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const client = new pg.Client({ host: ip, port: PG_PORT, user: 'postgres', password: args.password, database: 'postgres', connectionTimeoutMillis: 3_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return ip;
    } catch (error) {
      lastError = (error as Error).message;
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL in ${args.name} was not ready within ${TIMEOUTS.postgresReady} ms (last: ${lastError})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ignoreMissing(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return;
    throw error;
  }
}

/** What a run left behind in the engine, or '' when nothing. */
async function leftovers(docker: Docker, runId: string): Promise<string> {
  const filter = { label: [`${LABEL}.run=${runId}`] };
  const [containers, networks, images] = await Promise.all([
    docker.listContainers({ all: true, filters: filter }),
    docker.listNetworks({ filters: filter }),
    docker.listImages({ filters: filter }),
  ]);
  const left = [
    ...containers.map((c) => `container ${c.Names.join(',')}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...images.map((i) => `image ${(i.RepoTags ?? [i.Id]).join(',')}`),
  ];
  return left.join(', ');
}

/** Remove what earlier runs left behind when they were killed (their coordinator process is gone). */
async function sweepLeftovers(docker: Docker, out: Reporter): Promise<void> {
  const filter = { label: [LABEL] };
  const dead = (labels: Record<string, string> | undefined) => {
    const pid = Number(labels?.[`${LABEL}.pid`]);
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  const removed: string[] = [];
  for (const c of await docker.listContainers({ all: true, filters: filter })) {
    if (dead(c.Labels)) {
      await ignoreMissing(docker.getContainer(c.Id).remove({ force: true, v: true }));
      removed.push(`container ${c.Names.join(',')}`);
    }
  }
  for (const n of await docker.listNetworks({ filters: filter })) {
    if (dead(n.Labels)) {
      await ignoreMissing(docker.getNetwork(n.Id).remove());
      removed.push(`network ${n.Name}`);
    }
  }
  for (const i of await docker.listImages({ filters: filter })) {
    if (dead(i.Labels)) {
      await ignoreMissing(docker.getImage(i.Id).remove({ force: true }));
      removed.push(`image ${(i.RepoTags ?? [i.Id]).join(',')}`);
    }
  }
  if (removed.length > 0) out.line(`removed what killed earlier runs left behind: ${removed.join(', ')}`);
}

process.exit(await main());
