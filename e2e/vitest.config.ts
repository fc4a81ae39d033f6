import { defineConfig } from "vitest/config";

/**
 * Node-side tests of e2e/: the kind driver's commands, a short chaos run, and the load test of a
 * rollout with 200 bots (the rig's own tests are in rig/).
 * The browser specs are Playwright's (playwright.config.ts).
 */
export default defineConfig({
  test: {
    include: ["drivers/**/*.test.ts", "node/**/*.test.ts", "chaos/**/*.test.ts"],
    // Real processes on a small machine: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
