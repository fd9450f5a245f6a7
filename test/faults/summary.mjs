// Prints the fault-injection summary table from the records the scenarios wrote, and fails
// when any scenario found a violation or none ran.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const records = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const width = Math.max(8, ...records.map((r) => r.scenario.length));
console.log('\n== fault injection summary');
console.log(`${'scenario'.padEnd(width)}  faults  violations`);
for (const r of records) console.log(`${r.scenario.padEnd(width)}  ${String(r.faults).padStart(6)}  ${String(r.violations).padStart(10)}  ${(r.detail ?? '').slice(0, 140)}`);
const faults = records.reduce((n, r) => n + r.faults, 0);
const violations = records.reduce((n, r) => n + r.violations, 0);
console.log(`scenarios run: ${records.length}, faults injected: ${faults}, invariant violations: ${violations}`);
if (records.length === 0 || violations > 0) process.exit(1);
