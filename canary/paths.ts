// Where things are: this file compiles to build/canary/paths.js, two levels below the checkout.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const canaryDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(canaryDir, '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');
export const runnerPath = join(canaryDir, 'runner.js');
