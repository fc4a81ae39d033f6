import AxeBuilder from "@axe-core/playwright";
import { ChatBot, type PodHandle, startPod } from "@chat/testkit";
import { ChatPage } from "../support/chat-page.js";
import { expect, test } from "../support/fixtures.js";
import { expectInViewport, pageGeometry, shoot } from "../support/page-checks.js";

/**
 * A large room as a person sees it (protocol 3): a server of its own with PRESENCE_LIST_MAX=3,
 * six bots on the shipped client core in one room, and a browser that joins it. The member panel
 * shows the room's count, says that only some names are shown, and loads more on request.
 */
const LIST_MAX = 3;
const BOTS = 6;
let pod: PodHandle;
const bots: ChatBot[] = [];

test.beforeAll(async () => {
  pod = await startPod({
    name: "e2e-paged",
    env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn", PRESENCE_LIST_MAX: String(LIST_MAX) },
  });
});

test.afterAll(async () => {
  for (const bot of bots.splice(0)) bot.close();
  await pod?.stop("SIGTERM", 15_000);
});

async function fillRoom(room: string): Promise<void> {
  for (let i = 1; i <= BOTS; i++) {
    const bot = new ChatBot({ url: () => pod.url, name: `Bot ${i}`, rooms: [room] });
    bots.push(bot);
    await bot.start();
  }
}

const sizes = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

for (const size of sizes) {
  test(`a large room at ${size.width}x${size.height}: the count, a partial list, Show more`, async ({
    browser,
    room,
  }) => {
    await fillRoom(room);
    const context = await browser.newContext({
      baseURL: pod.url,
      viewport: { width: size.width, height: size.height },
    });
    try {
      const ada = new ChatPage(await context.newPage());
      await ada.join(room, "Ada");
      const total = BOTS + 1;
      const panel = ada.page.getByRole("complementary", { name: /here now/i });
      // The room's count, not the number of names loaded.
      await expect(panel.getByTestId("presence-count")).toHaveText(`${total} online`);
      await expect(ada.page.locator(".room-header .presence-count")).toHaveText(`${total} people here`);
      const note = panel.getByTestId("presence-note");
      await expect(note).toHaveText(new RegExp(`^Showing \\d+ of ${total}$`));
      // Whatever page the server sent, the reader is on it.
      await expect(ada.presence.filter({ hasText: "Ada" })).toHaveCount(1);
      const shown = await ada.presence.count();
      expect(shown).toBeGreaterThan(1);
      expect(shown).toBeLessThan(total);
      await expect(note).toHaveText(`Showing ${shown} of ${total}`);
      await expect(panel.getByRole("button", { name: "Reload the member list" })).toBeEnabled();

      // Show more, from the keyboard: focus it and press Enter; every page adds names.
      const more = panel.getByRole("button", { name: "Show more" });
      await expect(more).toBeEnabled();
      await more.focus();
      await ada.page.keyboard.press("Enter");
      await expect.poll(() => ada.presence.count()).toBeGreaterThan(shown);
      for (let page = 0; page < 10 && (await more.count()) > 0; page++) {
        await expect(more).toBeEnabled();
        await more.click();
        await expect(panel).toHaveAttribute("aria-busy", "false");
      }
      // The walk is done: every name is in, and there is nothing more to ask for.
      await expect(more).toHaveCount(0);
      await expect(ada.presence).toHaveCount(total);
      await expect(note).toHaveText(`Showing ${total} of ${total}`);
      for (const name of ["Ada", ...Array.from({ length: BOTS }, (_, i) => `Bot ${i + 1}`)])
        await expect(ada.presence.filter({ hasText: name })).toHaveCount(1);

      // Nothing scrolls that should not: the page stays put, the panel is on screen.
      await ada.page.locator(".people").hover();
      await ada.page.mouse.wheel(0, 3000);
      const g = await pageGeometry(ada.page);
      expect(g.scrollY).toBe(0);
      expect(g.scrollX).toBe(0);
      expect(g.pageHeight).toBeLessThanOrEqual(g.innerHeight);
      expect(g.pageWidth).toBeLessThanOrEqual(g.innerWidth);
      expect(g.offenders).toEqual([]);
      await expectInViewport(ada.page, ".people");
      // However many names are loaded, they scroll inside the panel (sideways in the phone's strip).
      const overflow = await ada.page.getByTestId("presence-list").evaluate((el) => {
        const style = getComputedStyle(el);
        return { x: style.overflowX, y: style.overflowY };
      });
      expect(size.name === "phone" ? overflow.x : overflow.y).toBe("auto");
      await expectInViewport(ada.page, '[data-testid="composer-input"]');

      // Reload starts over from a first page.
      await panel.getByRole("button", { name: "Reload the member list" }).click();
      await expect(panel).toHaveAttribute("aria-busy", "false");
      await expect.poll(() => ada.presence.count()).toBeLessThan(total);
      await expect(panel.getByRole("button", { name: "Show more" })).toBeVisible();

      await shoot(ada.page, `presence-paged-${size.name}`);
      const axe = await new AxeBuilder({ page: ada.page }).analyze();
      expect(axe.passes.length).toBeGreaterThan(0);
      expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    } finally {
      await context.close();
      for (const bot of bots.splice(0)) bot.close();
    }
  });
}
