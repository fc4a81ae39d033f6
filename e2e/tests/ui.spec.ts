import type { ChatPage } from "../support/chat-page.js";
import { expect, test } from "../support/fixtures.js";
import { axeProblems, expectInViewport, pageGeometry, shoot } from "../support/page-checks.js";

const sizes = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "narrow", width: 900, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

for (const size of sizes) {
  for (const scheme of ["light", "dark"] as const) {
    test(`layout at ${size.width}x${size.height}, ${scheme}: the page never scrolls, only the messages do`, async ({
      person,
      room,
    }) => {
      const ada = await person();
      await ada.page.setViewportSize(size);
      await ada.page.emulateMedia({ colorScheme: scheme });
      await ada.page.goto(`/#/room/${room}`);
      const nameInput = ada.page.getByTestId("name-input");
      expect((await nameInput.boundingBox())?.width ?? 0).toBeGreaterThanOrEqual(160);
      await shoot(
        ada.page,
        `first-screen-${size.name}-${scheme}`,
        size.name === "desktop" && scheme === "light" ? "screenshot-welcome" : undefined,
      );
      await ada.setName("Ada");
      await ada.expectConnected();
      await expect(ada.messageList).toHaveAttribute("aria-busy", "false");
      // Named through a room link: the room is open and writing is next.
      await expect(ada.composer).toBeFocused();

      // Someone else answers now and then, so each of Ada's runs starts with a name, a time and a "Sent" mark.
      const bob = await person();
      await bob.join(room, "Bob");
      for (let i = 1; i <= 40; i++) {
        await ada.send(`message ${i} ${"with some words ".repeat(i % 4)}`);
        if (i % 5 === 0) await bob.send(`reply ${i / 5}`);
      }
      await expect(ada.messages).toHaveCount(48);
      await expect(ada.messages.last()).toHaveAttribute("data-status", "sent");

      // What a person does that scrolled the page before: wheel over the side panels, End with nothing focused.
      await ada.page.locator(".people").hover();
      await ada.page.mouse.wheel(0, 3000);
      await ada.page.locator(".rooms").hover();
      await ada.page.mouse.wheel(0, 3000);
      await ada.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await ada.page.keyboard.press("End");
      await ada.page.keyboard.press("PageDown");

      const g = await pageGeometry(ada.page);
      expect(g.scrollY).toBe(0);
      expect(g.scrollX).toBe(0);
      expect(g.pageHeight).toBeLessThanOrEqual(g.innerHeight);
      expect(g.pageWidth).toBeLessThanOrEqual(g.innerWidth);
      expect(g.offenders).toEqual([]);
      // The list itself scrolls and sits at the newest message; the top bar and the composer are in view.
      const list = await ada.messageList.evaluate((el) => ({ scrollable: el.scrollHeight > el.clientHeight }));
      expect(list.scrollable).toBe(true);
      await expect(ada.message(`message 40 ${"with some words ".repeat(0)}`.trim())).toBeInViewport();
      await expectInViewport(ada.page, ".topbar");
      await expectInViewport(ada.page, '[data-testid="composer-input"]');
      await expectInViewport(ada.page, '[data-testid="send-button"]');

      if (size.name === "narrow") {
        // The join field's placeholder fits in its box.
        const fits = await ada.page.getByTestId("room-input").evaluate((el) => {
          const input = el as HTMLInputElement;
          const style = getComputedStyle(input);
          const ctx = document.createElement("canvas").getContext("2d") as CanvasRenderingContext2D;
          ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
          const room = input.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
          return ctx.measureText(input.placeholder).width <= room;
        });
        expect(fits).toBe(true);
      }
      if (size.name === "phone") {
        // Tap targets of at least 44 px.
        for (const target of [
          ada.tab(room),
          ada.page.getByRole("button", { name: `Leave #${room}` }),
          ada.page.getByTestId("send-button"),
          ada.composer,
          ada.page.getByTestId("room-input"),
          ada.page.getByTestId("name-input"),
        ]) {
          const box = await target.boundingBox();
          expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
          expect(box?.width ?? 0).toBeGreaterThanOrEqual(44);
        }
      }
      const docs =
        scheme === "light" && size.name === "desktop"
          ? "screenshot-room"
          : size.name === "phone" && scheme === "light"
            ? "screenshot-phone"
            : undefined;
      await shoot(ada.page, `room-${size.name}-${scheme}`, docs);
      expect(await axeProblems(ada.page)).toEqual([]);
    });
  }
}

test("first screen and empty state pass axe, light and dark, and focus follows the next step", async ({
  person,
  room,
}) => {
  const ada = await person();
  await ada.page.goto("/");
  for (const scheme of ["light", "dark"] as const) {
    await ada.page.emulateMedia({ colorScheme: scheme });
    expect(await axeProblems(ada.page)).toEqual([]);
  }
  await ada.page.emulateMedia({ colorScheme: "light" });
  await expect(ada.page.getByTestId("name-input")).toBeFocused();
  await ada.setName("Ada");
  await ada.expectConnected();
  // Named, nothing open: the join field is next.
  await expect(ada.page.getByTestId("room-input")).toBeFocused();
  await expect(ada.page.getByTestId("active-rooms")).toBeVisible();
  await shoot(ada.page, "no-room-desktop-light");
  for (const scheme of ["light", "dark"] as const) {
    await ada.page.emulateMedia({ colorScheme: scheme });
    expect(await axeProblems(ada.page)).toEqual([]);
  }
  // Joined: writing is next.
  await ada.page.getByTestId("room-input").fill(room);
  await ada.page.getByTestId("room-input").press("Enter");
  await expect(ada.tab(room)).toHaveAttribute("aria-current", "page");
  await expect(ada.composer).toBeFocused();
});

test("a name taken in the room shows one coherent state, and renaming clears it", async ({ person, room }) => {
  const alice = await person();
  await alice.join(room, "alice");
  const impostor = await person();
  await impostor.page.goto(`/#/room/${room}`);
  await impostor.setName("alice");

  const problem = impostor.page.getByTestId("join-problem");
  await expect(problem).toBeVisible();
  await expect(problem.getByRole("heading")).toHaveText(`The name “alice” is taken in #${room}`);
  // Nothing contradicts it: no spinner, no head count, no composer, no banner, no popover over the page.
  const page = impostor.page;
  await expect(page.getByText("Loading history…")).toHaveCount(0);
  await expect(page.getByText(/people here|person here/)).toHaveCount(0);
  await expect(impostor.composer).toHaveCount(0);
  await expect(page.getByTestId("error-banner")).toHaveCount(0);
  await expect(page.getByTestId("name-error")).toHaveCount(0);
  await expect(page.getByTestId("presence-list")).toHaveCount(0);
  await expect(page.locator(".room-header")).toContainText("Not joined");
  await shoot(page, "name-taken-desktop-light");
  expect(await axeProblems(page)).toEqual([]);

  const another = problem.getByLabel("Another name");
  await expect(another).toBeFocused();
  await another.fill("alice2");
  await another.press("Enter");
  await expect(problem).toHaveCount(0);
  await expect(impostor.composer).toBeFocused();
  await expect(impostor.presence).toHaveText([/alice/, /alice2/]);
  await expect(page.getByTestId("error-banner")).toHaveCount(0);
  await impostor.send("hi, I am the other one");
  await expect(alice.message("hi, I am the other one")).toBeVisible();
});

test("links open in a new tab, javascript: text stays text, no HTML gets in", async ({ person, room, baseURL }) => {
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");
  const target = `${baseURL}/livez`;
  await ada.send(`docs: ${target}. and javascript:alert(1) <a href="javascript:alert(2)">x</a>`);
  const message = bob.messages.last();
  const links = message.getByTestId("message-link");
  await expect(links).toHaveCount(1);
  await expect(links).toHaveAttribute("href", target);
  await expect(links).toHaveAttribute("target", "_blank");
  await expect(links).toHaveAttribute("rel", "noopener noreferrer");
  await expect(message.locator('a[href^="javascript"]')).toHaveCount(0);
  await expect(message.getByTestId("message-text")).toContainText(
    'javascript:alert(1) <a href="javascript:alert(2)">x</a>',
  );
  const [popup] = await Promise.all([bob.page.context().waitForEvent("page"), links.click()]);
  await popup.waitForLoadState();
  expect(popup.url()).toBe(target);
  await popup.close();
});

/** Notifications that record instead of showing, and a tab the test can hide. */
async function withFakeNotifications(chat: ChatPage) {
  await chat.page.addInitScript(() => {
    const w = window as unknown as { __notes: string[]; __hidden: boolean };
    w.__notes = [];
    w.__hidden = false;
    class FakeNotification {
      static permission = "granted";
      static requestPermission = async () => "granted";
      onclick: (() => void) | null = null;
      constructor(title: string, options?: { body?: string }) {
        w.__notes.push(`${title}: ${options?.body ?? ""}`);
      }
      close() {}
    }
    Object.defineProperty(window, "Notification", { value: FakeNotification });
    Object.defineProperty(Document.prototype, "visibilityState", {
      get: () => (w.__hidden ? "hidden" : "visible"),
    });
  });
}

test("runs, day separators, mentions, tab title and notifications", async ({ person, room }) => {
  const ada = await person();
  await withFakeNotifications(ada);
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");
  for (const text of ["one", "two", "three"]) await bob.send(text);
  await expect(ada.messages).toHaveCount(3);
  // One run: the name and time show once; one day: one separator.
  await expect(ada.messageList.getByTestId("message-author")).toHaveCount(1);
  await expect(ada.messageList.getByTestId("message-time")).toHaveCount(1);
  await expect(ada.messageList.getByTestId("day-separator")).toHaveText(["Today"]);
  const notes = () => ada.page.evaluate(() => (window as unknown as { __notes: string[] }).__notes);
  expect(await notes()).toEqual([]);

  await bob.send("hey @ada, look");
  const mention = ada.message("hey @ada, look").getByTestId("mention");
  await expect(mention).toHaveText("@ada");
  await expect(mention).toHaveClass(/mention-me/);
  await expect.poll(notes).toEqual([`Bob in #${room}: hey @ada, look`]);
  // Bob sees the mention of someone else, not highlighted as his own.
  await expect(bob.message("hey @ada, look").getByTestId("mention")).not.toHaveClass(/mention-me/);

  await ada.page.evaluate(() => {
    (window as unknown as { __hidden: boolean }).__hidden = true;
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await bob.send("anyone?");
  await expect(ada.page).toHaveTitle(`(1) #${room} · Chat`);
  await expect.poll(notes).toHaveLength(2);
  await bob.send("@Ada ping");
  await expect(ada.page).toHaveTitle(`@ (2) #${room} · Chat`);
  await ada.page.evaluate(() => {
    (window as unknown as { __hidden: boolean }).__hidden = false;
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await expect(ada.page).toHaveTitle(`#${room} · Chat`);
});

test("the room browser lists active rooms and joins one", async ({ person, room }) => {
  const ada = await person();
  await ada.join(room, "Ada");
  await ada.send("come in");
  const bob = await person();
  await bob.page.goto("/");
  await bob.setName("Bob");
  await bob.expectConnected();
  await bob.page.getByTestId("browse-rooms").click();
  const dialog = bob.page.getByRole("dialog", { name: "Browse rooms" });
  await expect(dialog).toBeVisible();
  // Listings are cached by the server for a moment: refresh until the room shows (bounded by expect's timeout).
  const entry = dialog.locator(`[data-testid="active-room"][data-room="${room}"]`);
  await expect(async () => {
    await dialog.getByRole("button", { name: "Refresh" }).click();
    await expect(entry).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(entry).toContainText("1 person here");
  await shoot(bob.page, "room-browser-desktop-light");
  expect(await axeProblems(bob.page)).toEqual([]);
  await entry.click();
  await expect(dialog).toBeHidden();
  await expect(bob.tab(room)).toHaveAttribute("aria-current", "page");
  await expect(bob.message("come in")).toBeVisible();
  await expect(bob.composer).toBeFocused();
});

test("a conversation, as the docs show it: desktop, dark and phone", async ({ person, room, baseURL }) => {
  const ada = await person();
  const bob = await person();
  await ada.page.setViewportSize({ width: 1280, height: 800 });
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");
  await bob.send("Morning! The rollout finished, no one was disconnected.");
  await bob.send(`Dashboard: ${baseURL}/livez`);
  await ada.send("Nice. @Bob did the handover metrics move?");
  await bob.send("@Ada they did: handovers up, disconnected time flat.");
  await bob.send("Pods drained in under 3 s each.");
  await expect(ada.messages).toHaveCount(5);
  await expect(ada.messages.last()).toHaveAttribute("data-status", "sent");
  await bob.composer.pressSequentially("Writing the notes", { delay: 10 });
  await expect(ada.typing).toBeVisible();
  await shoot(ada.page, "conversation-desktop-light", "screenshot-room");
  await ada.page.emulateMedia({ colorScheme: "dark" });
  await shoot(ada.page, "conversation-desktop-dark");
  expect(await axeProblems(ada.page)).toEqual([]);
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await shoot(bob.page, "conversation-phone-light", "screenshot-phone");
  await bob.page.emulateMedia({ colorScheme: "dark" });
  await shoot(bob.page, "conversation-phone-dark");
});
