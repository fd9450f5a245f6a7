#!/usr/bin/env node
// The dev-nexus command: parse, dispatch to a command group, print. No logic lives here.
import { Command, CommanderError } from 'commander';
import { registerAutomationCommands } from './automation.js';
import { registerClaimCommands } from './claim.js';
import { registerClaimsCommands } from './claims.js';
import { registerCurrentAgentCommands } from './current-agent.js';
import { registerInitCommand } from './init.js';
import { registerLaunchCommand } from './launch.js';
import { registerMcpCommand } from './mcp.js';
import { registerWorkItemCommands } from './work-item.js';
import { registerWorktreeCommands } from './worktree.js';

const json = process.argv.includes('--json');

// Usage errors exit 2; under --json they are one JSON object on stdout, like every other failure.
const program = new Command('dev-nexus')
  .description('work-item claims for several coordinator hosts: exactly one winner per item')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError(!json)
  .configureOutput({ outputError: (text, write) => (json ? undefined : write(text)) });

registerClaimsCommands(program);
registerInitCommand(program);
registerClaimCommands(registerWorkItemCommands(program));
const automation = registerAutomationCommands(program);
registerLaunchCommand(automation);
registerCurrentAgentCommands(automation);
registerWorktreeCommands(program);
registerMcpCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  if (error.exitCode === 0) process.exit(0); // --help, --version
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'usage_error', message: error.message.replace(/^error: /, '') } })}\n`);
  process.exitCode = 2;
}
