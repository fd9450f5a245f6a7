// `make faults`: the fault-injection scenarios (test/faults/), kept out of `make test`.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({ ...base, test: { ...base.test, include: ['test/faults/**/*.test.ts'], exclude: ['**/node_modules/**'] } });
