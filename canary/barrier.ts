// The start barrier inside one CLI process, preloaded with `node --import`:
//
//   node --import build/canary/barrier.js dist/cli/main.js work-item claim-next ...
//
// It loads every module the CLI's main.js imports (without running main.js), tells the runner
// "armed" on file descriptor 3, and blocks until the runner writes one line ("go") to stdin.
// Only then does Node go on to run main.js itself, unchanged, with its real argv. Node's start
// and module loading (a few hundred milliseconds on a busy machine, and uneven between two
// processes) happen before the barrier, so the two runners' CLIs leave it together.
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const cli = process.env.CANARY_CLI;
if (cli) {
  const main = resolve(cli);
  const text = readFileSync(main, 'utf8');
  for (const match of text.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    const specifier = match[1]!;
    if (specifier.startsWith('.')) await import(pathToFileURL(resolve(dirname(main), specifier)).href);
  }
}

writeSync(3, 'armed\n');
await new Promise<void>((resolvePromise) => {
  const lines = createInterface({ input: process.stdin });
  lines.once('line', () => {
    lines.close();
    process.stdin.destroy();
    resolvePromise();
  });
  lines.once('close', () => resolvePromise());
});
closeSync(3);
