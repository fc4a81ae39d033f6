import { defineConfig } from "vitest/config";

/**
 * The rig's own tests: its parts (manifest reading, overrides, HAProxy config, controllers,
 * charts) and, with real processes, that no pod or HAProxy outlives the rig however it dies.
 */
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Real processes on a small machine: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
