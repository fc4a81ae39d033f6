import { expect, expectSameCompleteTranscript, test } from "./fixtures.js";

test("Redis restarts: messages acknowledged before and after are all there, for the people present and for a newcomer", async ({
  cluster,
  person,
  room,
}) => {
  test.setTimeout(120_000);
  const ada = await person("Ada", room);
  const bob = await person("Bob", room);

  await ada.send("Before the restart, from Ada");
  await bob.send("Before the restart, from Bob");
  for (const p of [ada, bob]) {
    await expect(p.page.locator('[data-testid="message"][data-status="sent"]')).toHaveCount(2);
  }

  await cluster.restartRedis();

  await ada.send("After the restart, from Ada");
  await bob.send("After the restart, from Bob");
  await expectSameCompleteTranscript([ada, bob]);

  // The history itself survived (append-only file), not only what the open pages remember.
  const cem = await person("Cem", room);
  await expect(cem.chat.messages).toHaveCount(4);
  expect((await cem.transcript()).map((m) => `${m.seq} ${m.text}`)).toEqual(
    (await ada.transcript()).map((m) => `${m.seq} ${m.text}`),
  );
});
