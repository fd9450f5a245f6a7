// Serve the MCP server over stdio: JSON-RPC on stdin/stdout, and nothing else on stdout.
// Resolves when the client closes stdin (or the transport closes).
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer, type McpServerOptions } from './server.js';

export async function serveStdio(options: McpServerOptions = {}): Promise<void> {
  const server = createMcpServer(options);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => void server.close());
  await closed;
}
