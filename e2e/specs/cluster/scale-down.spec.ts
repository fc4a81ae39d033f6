import { expect, expectSameCompleteTranscript, type Person, test } from "./fixtures.js";

test("scaling from 3 pods to 1 moves everyone to the last pod, and presence stays right throughout", async ({
  cluster,
  person,
  room,
}) => {
  test.setTimeout(120_000);
  expect((await cluster.pods()).length).toBe(3);
  const names = ["Ada", "Bob", "Cem"];
  const people: Person[] = [];
  for (const name of names) people.push(await person(name, room));
  const everyone = [...names].sort();
  for (const p of people) await expect.poll(async () => (await p.chat.presence.allTextContents()).length).toBe(3);
  const spread = new Set(await Promise.all(people.map((p) => p.pod())));

  const start = Date.now();
  await cluster.scale(1);
  const end = Date.now();

  const [last, ...extra] = await cluster.pods();
  expect(extra, "one pod left").toEqual([]);
  for (const p of people) {
    await expect(p.chat.status).toHaveAttribute("data-state", "connected");
    await expect(p.chat.status).toHaveAttribute("data-pod", last?.name ?? "");
  }
  // Nobody vanished from, or showed up twice in, anyone's presence list while they moved.
  for (const p of people) {
    const log = await p.log();
    const during = log.presence.filter((s) => s.t >= start && s.t <= end + 1000);
    const current = log.presence.filter((s) => s.t < start).at(-1);
    for (const s of [current, ...during]) {
      if (s) expect([...s.users].sort(), `${p.name}'s presence list at +${s.t - start} ms`).toEqual(everyone);
    }
  }
  // And the room still works.
  for (const p of people) await p.send(`${p.name} after the scale-down`);
  await expectSameCompleteTranscript(people);
  console.log(`scale-down: people were on ${spread.size} pods, all on ${last?.name} now`);
});
