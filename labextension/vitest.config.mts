// Unit tests of the lab extension's plain modules (formatters, the live-snapshot message
// builder, the runs list model against a real Jupyter server). `jlpm test` runs them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The runs list tests start a Jupyter server once per file.
    hookTimeout: 120_000,
    testTimeout: 60_000
  }
});
