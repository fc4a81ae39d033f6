import { join } from "node:path";
import { ChatBot } from "@chat/testkit";
import { ARTIFACTS_DIR } from "../support/artifacts.js";
import { expect, test } from "../support/fixtures.js";

test("a text over the server's limit stays in the composer and reaches nobody", async ({ person, room }) => {
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");
  const long = "x".repeat(2100);
  await ada.send(long);
  await expect(ada.page.getByRole("alert").filter({ hasText: "over the limit of 2000" })).toBeVisible();
  await expect(ada.composer).toHaveValue(long);
  await ada.composer.fill("short and fine");
  await ada.composer.press("Enter");
  await expect(bob.message("short and fine")).toHaveAttribute("data-seq", "1");
  // Nothing before it: the long one was never stored.
  expect(await bob.seqs()).toEqual(["1"]);
});

test("an edit and a deletion made while someone is offline reach them once they are back", async ({ person, room }) => {
  const ada = await person();
  const bob = await person();
  await ada.join(room, "Ada");
  await bob.join(room, "Bob");
  for (const text of ["keep me", "fix me", "drop me"]) await ada.send(text);
  await expect(bob.messages).toHaveCount(3);

  await bob.page.context().setOffline(true);
  await expect(bob.status).not.toHaveAttribute("data-state", "connected");

  const fix = ada.message("fix me");
  await fix.getByRole("button", { name: "Edit" }).focus();
  await ada.page.keyboard.press("Enter");
  const editor = ada.page.getByRole("textbox", { name: "Edit message" });
  await editor.fill("fixed");
  await editor.press("Enter");
  await expect(ada.messages.filter({ hasText: "fixed" }).getByText("(edited)")).toBeVisible();
  const drop = ada.message("drop me");
  await drop.hover();
  await drop.getByRole("button", { name: "Delete" }).click();
  await expect(ada.page.getByText("Message deleted")).toBeVisible();

  await bob.page.context().setOffline(false);
  await bob.expectConnected();
  await expect(bob.messages.filter({ hasText: "fixed" }).getByText("(edited)")).toBeVisible();
  await expect(bob.message("drop me")).toHaveCount(0);
  await expect(bob.page.getByText("Message deleted")).toBeVisible();
  await expect(bob.message("keep me")).toHaveCount(1);
  await bob.page.screenshot({ path: join(ARTIFACTS_DIR, "edited-and-deleted.png") });
});

test("scrolling up pages back through 300 messages to the start, keeping the place", async ({
  person,
  room,
  baseURL,
}) => {
  const seeder = new ChatBot({ name: "Seeder", rooms: [room], url: () => baseURL ?? "" });
  await seeder.start();
  for (let i = 1; i <= 300; i++) void seeder.send(room, `message ${i}`);
  await expect.poll(() => seeder.cursor(room), { timeout: 30_000 }).toBe(300);
  seeder.client.stop();

  const ada = await person();
  await ada.join(room, "Ada");
  await expect(ada.message("message 300")).toBeVisible();
  expect(Number(await ada.messages.first().getAttribute("data-seq"))).toBeGreaterThan(1);
  await expect(ada.page.getByTestId("history-start")).toHaveCount(0);

  let pages = 0;
  while ((await ada.page.getByTestId("history-start").count()) === 0 && pages < 20) {
    const top = await ada.messages.first().getAttribute("data-seq");
    await ada.messageList.evaluate((el) => {
      el.scrollTop = 0;
    });
    await expect(ada.messages.first()).not.toHaveAttribute("data-seq", top ?? "", { timeout: 10_000 });
    // The message that was at the top is still on screen: the page went in above it.
    await expect(ada.page.locator(`[data-testid="message"][data-seq="${top}"]`)).toBeInViewport();
    pages++;
  }
  expect(pages).toBeGreaterThanOrEqual(2);
  await ada.messageList.evaluate((el) => {
    el.scrollTop = 0;
  });
  await expect(ada.page.getByTestId("history-start")).toBeVisible();
  await expect(ada.messages.first()).toHaveAttribute("data-seq", "1");
  await expect(ada.messages).toHaveCount(300);
  await ada.page.screenshot({ path: join(ARTIFACTS_DIR, "scrollback-start.png") });
});
