// One schema per test file on the run's shared server (see global-setup.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { PostgresClaimAuthority } from '../../src/claims/postgres/authority.js';
import { createNodePostgresClient, type NodePostgresOptions } from '../../src/claims/postgres/node-postgres.js';
import { renderClaimAuthoritySchemaSql } from '../../src/claims/postgres/schema.js';
import type { SqlClient } from '../../src/claims/postgres/sql-client.js';

export interface TestDatabase {
  url: string;
  schema: string;
  /** A superuser pool for setup and inspection in tests. */
  admin: pg.Pool;
  client(options?: Partial<NodePostgresOptions>): Promise<SqlClient>;
  authority(options?: Partial<NodePostgresOptions> & { maxAttempts?: number }): Promise<PostgresClaimAuthority>;
  close(): Promise<void>;
}

export async function createTestSchema(label: string): Promise<TestDatabase> {
  const url = inject('testDatabaseUrl');
  const schema = `t_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 4 });
  await admin.query(renderClaimAuthoritySchemaSql(schema));
  const opened: SqlClient[] = [];
  const client = async (options: Partial<NodePostgresOptions> = {}) => {
    const c = await createNodePostgresClient({ connectionString: url, ...options });
    opened.push(c);
    return c;
  };
  return {
    url,
    schema,
    admin,
    client,
    async authority(options = {}) {
      const { maxAttempts, ...clientOptions } = options;
      return new PostgresClaimAuthority({ client: await client(clientOptions), schema, maxAttempts });
    },
    async close() {
      await Promise.all(opened.map((c) => c.close()));
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}
