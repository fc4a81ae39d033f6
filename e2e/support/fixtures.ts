import { type BrowserContext, test as base } from "@playwright/test";
import { ChatPage } from "./chat-page.js";
import { BASE_URL_ENV } from "./global-setup.js";

export { expect } from "@playwright/test";

interface Fixtures {
  /** A room name no other test uses, so tests sharing one server never see each other. */
  room: string;
  /** A new person: their own browser context (own storage, own socket) with the chat open. */
  person: () => Promise<ChatPage>;
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture dependencies from this destructuring
  baseURL: async ({}, use) => {
    const url = process.env[BASE_URL_ENV];
    if (!url)
      throw new Error(`${BASE_URL_ENV} is not set: run through playwright.config.ts (global setup starts the server)`);
    await use(url);
  },

  // biome-ignore lint/correctness/noEmptyPattern: as above
  room: async ({}, use, testInfo) => {
    const slug = testInfo.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .slice(0, 24);
    await use(`e2e-${slug}-${Date.now().toString(36)}`.replace(/-+/g, "-"));
  },

  person: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async () => {
      const context = await browser.newContext({ baseURL });
      contexts.push(context);
      return new ChatPage(await context.newPage());
    });
    await Promise.all(contexts.map((c) => c.close()));
  },
});
