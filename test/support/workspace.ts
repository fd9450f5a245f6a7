// Temporary workspaces and homes, written by the real `init` use case.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaimBackend } from '../../src/config/project.js';
import { initWorkspace } from '../../src/config/init.js';

export interface TestWorkspace {
  root: string;
  home: string;
  /** The host environment the use cases see (the connection string lives here). */
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export const TEST_URL_ENV = 'DEV_NEXUS_TEST_CLAIMS_URL';

export async function createWorkspace(options: {
  backend: ClaimBackend;
  projectId?: string;
  schema?: string;
  url?: string;
  leaseDurationMs?: number;
  heartbeatIntervalMs?: number;
  profile?: boolean;
}): Promise<TestWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'dev-nexus-ws-'));
  const root = join(dir, 'workspace');
  const home = join(dir, 'home');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(root);
  const postgres = options.backend === 'postgres';
  await initWorkspace({
    workspaceRoot: root,
    projectId: options.projectId ?? 'proj',
    backend: options.backend,
    leaseDurationMs: options.leaseDurationMs ?? 60_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 20_000,
    ...(postgres && options.profile !== false ? { home, connectionStringEnv: TEST_URL_ENV, schema: options.schema } : {}),
    env: {},
  });
  return {
    root,
    home,
    env: options.url ? { [TEST_URL_ENV]: options.url } : {},
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
