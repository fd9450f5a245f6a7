// A failing test run must exit non-zero even with the embedded PostgreSQL started: its exit
// hook once turned every failed run into exit 0, and CI into a green light.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('a run with a failing test exits 1, with the test PostgreSQL started', async () => {
  const env = { ...process.env };
  delete env.DEV_NEXUS_TEST_DATABASE_URL;
  const result = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile('npx', ['vitest', 'run', '--config', 'test/support/fixtures/vitest.exit-code.config.ts'], { cwd: root, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    ),
  );
  expect(result.output).toContain('[test-postgres] source:');
  expect(result.output).toMatch(/1 failed/);
  expect(result.code).toBe(1);
}, 150_000);
