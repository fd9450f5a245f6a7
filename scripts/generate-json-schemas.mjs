#!/usr/bin/env node
// Regenerate schemas/*.schema.json from the zod schemas. Run after a build:
//   npx tsc -p tsconfig.build.json && node scripts/generate-json-schemas.mjs
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderJsonSchemaFiles } from '../dist/config/json-schema.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
await mkdir(dir, { recursive: true });
for (const [name, text] of Object.entries(renderJsonSchemaFiles())) {
  await writeFile(path.join(dir, name), text);
  console.log(`wrote schemas/${name}`);
}
