import { defineConfig, devices } from "@playwright/test";
import { chromiumLaunchOptions } from "./support/browser.js";

/**
 * End-to-end tests in the system Chromium against a real chat server, which global-setup.ts
 * starts (or CHAT_BASE_URL points at). Artifacts (screenshots, traces of failures) go to
 * test-results/ and artifacts/, both git-ignored.
 */
export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  globalSetup: "./support/global-setup.ts",
  // One browser at a time: the machines running this are small, and the server is shared.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["html", { outputFolder: "playwright-report", open: "never" }]],
  use: {
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: chromiumLaunchOptions,
  },
  projects: [
    { name: "chromium", use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunchOptions } },
    // Specs against a cluster: the local rig (e2e/rig) by default, kind with E2E_TARGET=kind (docs/rig.md).
    {
      name: "cluster",
      testDir: "./specs/cluster",
      timeout: 120_000,
      use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunchOptions },
    },
  ],
});
