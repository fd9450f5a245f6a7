// dev-nexus mcp: the MCP server over stdio (the tools are defined in src/mcp/).
import type { Command } from 'commander';

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve the dev-nexus tools to an MCP client over stdio (stdout carries only protocol messages)')
    .addHelpText('after', `
Tools: work_item_claim_next, work_item_claim_release, work_item_claim_heartbeat, automation_status,
current_agent_heartbeat, current_agent_record, worktree_prepare. Each answers what the matching
command prints under --json; isError is set when that command would exit non-zero.
The server's environment is the host environment: set the connection-string variable of the
claim authority profile (and DEV_NEXUS_HOME if not passed as "home") in the client's config.

Example client config:
  { "mcpServers": { "dev-nexus": { "command": "dev-nexus", "args": ["mcp"],
      "env": { "DEV_NEXUS_CLAIMS_DATABASE_URL": "postgres://..." } } } }`)
    .action(async () => {
      try {
        // Loaded here, not at the top: the MCP SDK takes ~300 ms to import, and every other
        // command would pay for it.
        const { serveStdio } = await import('../mcp/stdio.js');
        await serveStdio();
      } catch (error) {
        // Never on stdout: that is the protocol's.
        process.stderr.write(`dev-nexus mcp: ${(error as Error)?.message ?? String(error)}\n`);
        process.exitCode = 1;
      }
    });
}
