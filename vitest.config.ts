import { defineConfig } from 'vitest/config';

const slow = ['test/**/*.browser.test.ts', 'test/cli/package.test.ts'];
const cli = ['test/cli/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A real browser and the package build (tsc, npm install) compete for CPU with the timing-sensitive suites, so they run after them.
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: [...slow, ...cli], sequence: { groupOrder: 0 } } },
      // Each case starts the command in a child process (seconds on a loaded machine, several per case): a wider budget.
      { extends: true, test: { name: 'cli', include: cli, exclude: slow, testTimeout: 120_000, hookTimeout: 120_000, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'browser', include: ['test/**/*.browser.test.ts'], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'package', include: ['test/cli/package.test.ts'], sequence: { groupOrder: 2 } } },
    ],
  },
});
