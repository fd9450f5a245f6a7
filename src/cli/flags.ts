// Flags shared by the commands that act on a workspace's claims.
import type { Command } from 'commander';
import { CliError } from './output.js';

export interface WorkspaceFlags {
  home?: string;
  component?: string;
  tracker?: string;
  json?: boolean;
}

/** --home, --component, --tracker and --json, worded the same on every command. */
export function workspaceOptions(command: Command): Command {
  return command
    .option('--home <home-path>', 'dev-nexus home holding this host\'s dev-nexus.home.json (default: $DEV_NEXUS_HOME, else ~/.dev-nexus)')
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print exactly one JSON object');
}

/** A positive integer flag, e.g. a duration in ms or a fencing token; undefined when absent. */
export function integerFlag(name: string, value: string | undefined, example: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new CliError('invalid_input', `${name} must be a positive integer, for example ${example}`);
  }
  return n;
}

export function workspaceInput(workspaceRoot: string, flags: WorkspaceFlags) {
  return { workspaceRoot, home: flags.home, componentId: flags.component, trackerId: flags.tracker };
}
