#!/usr/bin/env node
// The dev-nexus command: parse, dispatch to a command group, print. No logic lives here.
import { Command } from 'commander';
import { registerClaimsCommands } from './claims.js';
import { registerInitCommand } from './init.js';
import { registerWorkItemCommands } from './work-item.js';

const program = new Command('dev-nexus')
  .description('work-item claims for several coordinator hosts: exactly one winner per item')
  .version('0.1.0')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerClaimsCommands(program);
registerInitCommand(program);
registerWorkItemCommands(program);

await program.parseAsync(process.argv);
