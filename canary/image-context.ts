// The build context of the runner image: docker/runner.Dockerfile, package.json, dist/,
// build/canary/ and the runtime dependencies of the package (its dependencies and peer
// dependencies, with everything they need), copied from the host's node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';

interface PackageJson {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Resolve `name` from the package at `fromDir` the way Node does: nearest node_modules upward. */
function resolvePackage(repoRoot: string, fromDir: string, name: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === repoRoot || dir === dirname(dir)) return null;
  }
}

/** The top-level node_modules entries (e.g. "pg", "@scope/x") holding the runtime dependency closure. */
export function runtimeModules(repoRoot: string): string[] {
  const root = readPackage(repoRoot);
  const seen = new Set<string>();
  const queue: { from: string; name: string; optional: boolean }[] = [
    ...Object.keys(root.dependencies ?? {}).map((name) => ({ from: repoRoot, name, optional: false })),
    // pg is an optional peer of the package and the driver the postgres backend uses.
    ...Object.keys(root.peerDependencies ?? {}).map((name) => ({ from: repoRoot, name, optional: true })),
  ];
  while (queue.length > 0) {
    const { from, name, optional } = queue.shift()!;
    const dir = resolvePackage(repoRoot, from, name);
    if (!dir) {
      if (optional) continue;
      throw new Error(`runtime dependency ${name} (needed by ${relative(repoRoot, from) || 'the package'}) is not installed; run npm ci`);
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = readPackage(dir);
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ from: dir, name: dep, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ from: dir, name: dep, optional: true });
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) queue.push({ from: dir, name: dep, optional: true });
  }
  // Copy whole top-level entries: a nested node_modules comes along with its parent.
  const top = new Set<string>();
  const nodeModules = join(repoRoot, 'node_modules');
  for (const dir of seen) {
    const parts = relative(nodeModules, dir).split(sep);
    top.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return [...top].sort();
}

export function newContextDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dev-nexus-canary-image-'));
}

/** Fill `dir` (from newContextDir) with the runner image's build context. */
export async function assembleRunnerContext(repoRoot: string, dir: string): Promise<{ dir: string; modules: string[] }> {
  for (const needed of ['dist/cli/main.js', 'build/canary/runner.js', 'docker/runner.Dockerfile']) {
    if (!existsSync(join(repoRoot, needed))) throw new Error(`${needed} is missing; run make build first`);
  }
  await cp(join(repoRoot, 'docker', 'runner.Dockerfile'), join(dir, 'Dockerfile'));
  await cp(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  await cp(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
  await mkdir(join(dir, 'build'), { recursive: true });
  await cp(join(repoRoot, 'build', 'canary'), join(dir, 'build', 'canary'), { recursive: true });
  const modules = runtimeModules(repoRoot);
  for (const name of modules) {
    await cp(join(repoRoot, 'node_modules', name), join(dir, 'node_modules', name), { recursive: true, dereference: true });
  }
  return { dir, modules };
}
