// JSON Schemas for editors, generated from the zod schemas so the two cannot disagree.
// The shipped copies live in schemas/; a test fails when they drift from this output.
// Cross-field rules (one primary component, heartbeat <= lease / 2, ...) are not expressible
// here; the loaders enforce them.
import { z } from 'zod';
import { HOME_CONFIG_FILE, homeConfigSchema } from './home.js';
import { PROJECT_CONFIG_FILE, projectConfigSchema } from './project.js';

export const PROJECT_SCHEMA_FILE = 'dev-nexus.project.schema.json';
export const HOME_SCHEMA_FILE = 'dev-nexus.home.schema.json';

function generate(schema: z.ZodType, title: string): Record<string, unknown> {
  // io "input": the schema describes what people write, where defaulted keys are optional.
  return { ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }), title };
}

export function projectJsonSchema(): Record<string, unknown> {
  return generate(projectConfigSchema, PROJECT_CONFIG_FILE);
}

export function homeJsonSchema(): Record<string, unknown> {
  return generate(homeConfigSchema, HOME_CONFIG_FILE);
}

/** File name (under schemas/) to file text, exactly as shipped. */
export function renderJsonSchemaFiles(): Record<string, string> {
  const text = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  return { [PROJECT_SCHEMA_FILE]: text(projectJsonSchema()), [HOME_SCHEMA_FILE]: text(homeJsonSchema()) };
}
