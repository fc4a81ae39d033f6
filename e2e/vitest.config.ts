import { defineConfig } from "vitest/config";

/**
 * Node-side tests of e2e/: the rig's parts (manifest reading, overrides, HAProxy config,
 * controllers), the kind driver's commands, and the load test of a rollout with 200 bots.
 * The browser specs are Playwright's (playwright.config.ts).
 */
export default defineConfig({
  test: {
    include: ["rig/**/*.test.ts", "drivers/**/*.test.ts", "node/**/*.test.ts", "chaos/**/*.test.ts"],
    // Real processes on a small machine: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
