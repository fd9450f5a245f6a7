// Canary tooling only: the real `dev-nexus` CLI with a deliberately broken claim authority,
// to prove that the canary catches one. The product never reads DEV_NEXUS_CANARY_MUTANT: the
// canary's runner starts this file instead of dist/cli/main.js when it is set, and this file
// patches the compiled PostgresClaimAuthority before loading the unchanged CLI.
//
//   ignores-expiry   the claim statement takes over an item even while its lease is live
//   host-clock       the claim statement judges expiry on this host's wall clock, which runs
//                    DEV_NEXUS_CANARY_MUTANT_SKEW_MS (default two hours) ahead
//
// Both are built from the real statement text with one condition replaced, like the mutants of
// the property tests (test/race/mutants.test.ts); if the statement changes, this fails loudly.
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const EXPIRY_CHECK = "WHERE c.state = 'released' OR c.expires_at <= clock_timestamp()";

interface Statement {
  name: string;
  text: string;
}
interface AuthorityInstance {
  sql: { claim: Statement } & Record<string, Statement>;
}
interface AuthorityClass {
  prototype: AuthorityInstance & { claim: (this: AuthorityInstance, ...args: unknown[]) => Promise<unknown> };
}

const mutant = process.env.DEV_NEXUS_CANARY_MUTANT ?? '';
const cliPath = process.env.CANARY_CLI;
if (!cliPath) {
  process.stderr.write('mutant-cli: CANARY_CLI (the path of dist/cli/main.js) is not set\n');
  process.exit(2);
}
const distDir = resolve(dirname(cliPath), '..');
const authorityModule = (await import(pathToFileURL(join(distDir, 'claims', 'postgres', 'authority.js')).href)) as { PostgresClaimAuthority: AuthorityClass };
const proto = authorityModule.PostgresClaimAuthority.prototype;
const originalClaim = proto.claim;

function mutate(text: string, replacement: string): string {
  if (!text.includes(EXPIRY_CHECK)) {
    throw new Error('mutant-cli: the claim statement no longer contains the expiry check it replaces; update canary/mutant-cli.ts');
  }
  return text.replace(EXPIRY_CHECK, replacement);
}

let calls = 0;
proto.claim = async function (this: AuthorityInstance, ...args: unknown[]) {
  calls += 1;
  const base = this.sql.claim.name.replace(/_canary_mutant_.*$/, '');
  const original = (this as { __canaryOriginalClaim?: Statement }).__canaryOriginalClaim ?? this.sql.claim;
  (this as { __canaryOriginalClaim?: Statement }).__canaryOriginalClaim = original;
  if (mutant === 'ignores-expiry') {
    this.sql = { ...this.sql, claim: { name: `${base}_canary_mutant_ignores_expiry`, text: mutate(original.text, "WHERE c.state = 'released' OR true") } };
  } else if (mutant === 'host-clock') {
    const skewMs = Number(process.env.DEV_NEXUS_CANARY_MUTANT_SKEW_MS ?? 2 * 3600_000);
    const hostNow = new Date(Date.now() + skewMs).toISOString();
    this.sql = {
      ...this.sql,
      claim: { name: `${base}_canary_mutant_host_clock_${calls}`, text: mutate(original.text, `WHERE c.state = 'released' OR c.expires_at <= '${hostNow}'::timestamptz`) },
    };
  } else {
    throw new Error(`mutant-cli: unknown DEV_NEXUS_CANARY_MUTANT "${mutant}" (ignores-expiry | host-clock)`);
  }
  return originalClaim.apply(this, args);
};

// process.argv is [node, this file, ...args], the same shape the CLI expects.
await import(pathToFileURL(resolve(cliPath)).href);
