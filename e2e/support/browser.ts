import { existsSync } from "node:fs";
import type { LaunchOptions } from "@playwright/test";

/**
 * The suite runs the system Chromium (Debian package `chromium`); Playwright's own browser
 * downloads are never used. CHROMIUM_PATH overrides the location.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

/** Fail early, and say what to install, when the browser is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install the Debian package 'chromium' ` +
        "(sudo apt-get install -y chromium) or set CHROMIUM_PATH. Do not run 'npx playwright install'.",
    );
  }
}
