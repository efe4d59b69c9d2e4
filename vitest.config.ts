import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A real browser competes for CPU with the timing-sensitive suites, so it runs after them.
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/**/*.browser.test.ts'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'browser', include: ['test/**/*.browser.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
