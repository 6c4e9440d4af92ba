import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // e2e tests spawn real processes on free ports; two workers keep a 2-core box responsive.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
