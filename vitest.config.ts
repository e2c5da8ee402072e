import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two at a time on two cores: most files wait on sockets (SMTP, Redis, a browser) more than they compute.
    maxWorkers: 2,
  },
});
