// `make faults`: the fault-injection scenarios (test/faults/), kept out of `make test`.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(base, defineConfig({ test: { include: ['test/faults/**/*.test.ts'], exclude: [] } }));
