// Each fault scenario records what it injected and what it found; `make faults` prints the table.
import { appendFileSync } from 'node:fs';

export interface ScenarioRecord {
  scenario: string;
  faults: number;
  violations: number;
  detail?: string;
}

export function recordScenario(record: ScenarioRecord): void {
  const file = process.env.DEV_NEXUS_FAULTS_SUMMARY;
  if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
}
