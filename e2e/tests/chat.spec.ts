import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ARTIFACTS_DIR } from "../support/artifacts.js";
import { expect, test } from "../support/fixtures.js";

test("two people chat both ways in a room", async ({ person, room }, testInfo) => {
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");

  await ada.send("Hi Bob! <b>not bold</b> <img src=x onerror=alert(1)>");
  const fromAda = bob.message("Hi Bob! <b>not bold</b> <img src=x onerror=alert(1)>");
  await expect(fromAda).toHaveAttribute("data-seq", "1");
  await expect(fromAda.getByTestId("message-author")).toHaveText("Ada");
  // Text is text: the markup arrived as characters, nothing was injected.
  await expect(bob.messageList.locator("b, img")).toHaveCount(0);

  await bob.composer.fill("Hello Ada.\nTwo lines, sent with the button.");
  await bob.page.getByTestId("send-button").click();
  const fromBob = ada.message("Hello Ada.\nTwo lines, sent with the button.");
  await expect(fromBob).toHaveAttribute("data-seq", "2");
  await expect(fromBob.getByTestId("message-author")).toHaveText("Bob");

  // Both see the same conversation, in order, every message acknowledged.
  for (const p of [ada, bob]) {
    await expect(p.messages).toHaveCount(2);
    await expect(p.messages.nth(0)).toHaveAttribute("data-status", "sent");
    await expect(p.messages.nth(1)).toHaveAttribute("data-status", "sent");
    expect(await p.seqs()).toEqual(["1", "2"]);
  }
  // Own messages are marked as such (same author id as the session, own styling).
  const adaOwn = ada.messages.nth(0);
  await expect(adaOwn).toHaveClass(/\bown\b/);
  await expect(ada.messages.nth(1)).not.toHaveClass(/\bown\b/);
  await expect(ada.status).toContainText(/Connected · pod e2e-chat/);

  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const shot = await ada.page.screenshot({ path: join(ARTIFACTS_DIR, "chat-desktop.png"), fullPage: true });
  await testInfo.attach("chat-desktop", { body: shot, contentType: "image/png" });
  await ada.page.emulateMedia({ colorScheme: "dark" });
  const dark = await ada.page.screenshot({ path: join(ARTIFACTS_DIR, "chat-dark.png") });
  await testInfo.attach("chat-dark", { body: dark, contentType: "image/png" });
  await bob.page.setViewportSize({ width: 390, height: 844 });
  const phone = await bob.page.screenshot({ path: join(ARTIFACTS_DIR, "chat-phone.png") });
  await testInfo.attach("chat-phone", { body: phone, contentType: "image/png" });
});

test("presence and typing show who is here and who is writing", async ({ person, room }) => {
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");

  await expect(ada.presence).toHaveText([/Ada/, /Bob/]);
  await expect(bob.presence).toHaveText([/Ada/, /Bob/]);

  await bob.composer.pressSequentially("I am thinking", { delay: 20 });
  await expect(ada.typing).toHaveText("Bob is typing…");
  await bob.composer.fill("");
  await expect(ada.typing).toBeHidden();

  await bob.composer.pressSequentially("ok", { delay: 20 });
  await expect(ada.typing).toBeVisible();
  await bob.composer.press("Enter");
  await expect(ada.typing).toBeHidden();
  await expect(ada.message("ok")).toBeVisible();

  await bob.page.close();
  await expect(ada.presence).toHaveText([/Ada/]);
});

test("a reload keeps the name, the identity and the history", async ({ person, room }) => {
  const ada = await person();
  await ada.join(room, "Ada");
  for (const text of ["first", "second", "third"]) await ada.send(text);
  await expect(ada.messages.last()).toHaveAttribute("data-status", "sent");
  const authorId = await ada.messages.first().getAttribute("data-author-id");
  expect(authorId).toBeTruthy();

  await ada.page.reload();
  await ada.expectConnected();
  await expect(ada.page.getByTestId("name-input")).toHaveValue("Ada");
  await expect(ada.tab(room)).toHaveAttribute("aria-current", "page");
  expect(await ada.texts()).toEqual(["first", "second", "third"]);
  expect(await ada.seqs()).toEqual(["1", "2", "3"]);
  // The session token brought back the same user: the messages are still "mine".
  await expect(ada.messages.first()).toHaveAttribute("data-author-id", authorId as string);
  await expect(ada.messages.first()).toHaveClass(/\bown\b/);
  expect(await ada.connectionStats()).toMatchObject({ state: "connected", connections: 1, disconnectedMs: 0 });
});

test("rooms: joining by name, switching, unread counts and keyboard sending", async ({ person, room }) => {
  const other = `${room}-b`;
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(other, "Bob");

  // Ada joins the second room with the form, then goes back to the first one.
  await ada.page.getByTestId("room-input").fill(other);
  await ada.page.getByTestId("room-input").press("Enter");
  await expect(ada.tab(other)).toHaveAttribute("aria-current", "page");
  await expect(ada.page).toHaveURL(new RegExp(`#/room/${other}$`));
  await ada.tab(room).click();
  await expect(ada.tab(room)).toHaveAttribute("aria-current", "page");
  await expect(ada.tab(other)).not.toHaveAttribute("aria-current", /.+/);

  await bob.send("one");
  await bob.send("two");
  await expect(ada.tab(other).getByTestId("unread-count")).toHaveText("2");
  await ada.tab(other).click();
  await expect(ada.tab(other).getByTestId("unread-count")).toBeHidden();
  expect(await ada.texts()).toEqual(["one", "two"]);

  // Shift+Enter is a new line, Enter sends.
  await ada.composer.focus();
  await ada.page.keyboard.type("line 1");
  await ada.page.keyboard.press("Shift+Enter");
  await ada.page.keyboard.type("line 2");
  await expect(ada.composer).toHaveValue("line 1\nline 2");
  await ada.page.keyboard.press("Enter");
  await expect(ada.composer).toHaveValue("");
  await expect(bob.message("line 1\nline 2")).toHaveAttribute("data-seq", "3");
});

test("a text over the server's limit is kept in the composer, never sent", async ({ person, room }) => {
  const ada = await person();
  await ada.join(room, "Ada");
  // The protocol allows 4000 characters; this server is configured for fewer (MAX_TEXT_LENGTH, 2000 by default)
  // and says so in its session: the composer holds the text back instead of losing it to a refusal.
  const long = "x".repeat(2100);
  await ada.composer.fill(long);
  await expect(ada.page.getByTestId("composer-counter")).toHaveText("100 over the limit of 2000");
  await expect(ada.page.getByTestId("send-button")).toBeDisabled();
  await ada.composer.press("Enter");
  await expect(ada.page.getByTestId("composer-error")).toContainText("100 characters over the limit of 2000");
  await expect(ada.composer).toHaveValue(long);
  await expect(ada.messages).toHaveCount(0);

  await ada.composer.fill("x".repeat(1950));
  await expect(ada.page.getByTestId("composer-counter")).toHaveText("50 characters left");
  await ada.send("short enough");
  await expect(ada.message("short enough")).toHaveAttribute("data-seq", "1");
  await expect(ada.composer).toHaveValue("");
});
