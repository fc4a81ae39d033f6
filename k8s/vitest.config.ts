import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Rendering every overlay and component combination runs kubectl a few dozen times.
    hookTimeout: 120_000,
    testTimeout: 30_000,
    // Two files, two workers at most: the CI machine has two cores.
    maxWorkers: 2,
  },
});
