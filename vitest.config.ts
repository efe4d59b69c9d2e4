import { defineConfig } from 'vitest/config';

const slow = ['test/**/*.browser.test.ts', 'test/cli/package.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A real browser and the package build (tsc, npm install) compete for CPU with the timing-sensitive suites, so they run after them.
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: slow, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'browser', include: ['test/**/*.browser.test.ts'], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'package', include: ['test/cli/package.test.ts'], sequence: { groupOrder: 2 } } },
    ],
  },
});
