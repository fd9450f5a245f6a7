// The canary must catch a broken authority. The process canary runs end to end (two runner
// processes, the real CLI, the run's test PostgreSQL) with each test-only mutant of the claim
// statement (canary/mutant-cli.ts, selected by DEV_NEXUS_CANARY_MUTANT, which only the
// canary's runner reads), and must fail for the right reason: two runners won one item.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const canary = join(repoRoot, 'build', 'canary', 'processes.js');

function runCanary(env: Record<string, string>, args: string[]): Promise<{ code: number | null; output: string }> {
  if (!existsSync(canary)) throw new Error(`${canary} is missing: run make build (it compiles tsconfig.canary.json)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [canary, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the process canary catches a broken authority', () => {
  for (const mutant of ['ignores-expiry', 'host-clock'] as const) {
    it(`mutant ${mutant}: two runners win the same item, and the canary fails`, async () => {
      const { code, output } = await runCanary({ DEV_NEXUS_CANARY_DATABASE_URL: inject('testDatabaseUrl'), DEV_NEXUS_CANARY_MUTANT: mutant }, ['--rounds', '2']);
      console.log(`[canary mutant ${mutant}]\n${output.split('\n').filter((l) => /MUTANT|FAIL|2 runners|audit/.test(l)).join('\n')}`);
      expect(output).toContain(`MUTANT ${mutant}`);
      // It ran the rounds (not a setup failure), and every round saw two winners.
      expect(output).toContain('round 2/2');
      expect(output).toContain('2 runners returned claimed (runner-a, runner-b); exactly one must win');
      expect(output).toMatch(/claims audit: FAIL/);
      expect(output).toContain('process canary FAILED');
      expect(code).toBe(1);
    }, 180_000);
  }
});
