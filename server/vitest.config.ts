import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Real processes (redis-server, pods) need more than the default 5 s on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
