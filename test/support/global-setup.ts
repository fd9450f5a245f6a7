// Vitest global setup: one PostgreSQL server for the whole run, shared with every test file.
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabaseUrl: string;
    testDatabaseSource: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const server = await startTestPostgres((line) => console.log(line));
  const version = await serverVersion(server.url);
  console.log(`[test-postgres] source: ${server.description}; ${version}; ready in ${Date.now() - started} ms`);
  project.provide('testDatabaseUrl', server.url);
  project.provide('testDatabaseSource', server.source);
  return async () => {
    await server.stop();
  };
}

async function serverVersion(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${rows[0]?.server_version}`;
  } finally {
    await client.end();
  }
}
