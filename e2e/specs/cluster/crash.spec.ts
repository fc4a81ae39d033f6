import { expect, expectSameCompleteTranscript, keepTalking, test } from "./fixtures.js";

test("a pod is SIGKILLed mid-conversation: its people reconnect elsewhere, their outboxes re-send, nothing lost or doubled", async ({
  cluster,
  person,
  room,
}) => {
  test.setTimeout(120_000);
  const ada = await person("Ada", room);
  const others = [await person("Bob", room), await person("Cem", room)];
  const victim = await ada.pod();
  const everyone = [ada, ...others];
  const sharing = [];
  for (const p of others) if ((await p.pod()) === victim) sharing.push(p);

  // Bob and Cem keep typing throughout; Ada types at the worst moments, one message at a time.
  const stop = keepTalking(others, 600);
  try {
    await ada.send("Ada, before the crash");
    await expect(ada.chat.message("Ada, before the crash")).toHaveAttribute("data-status", "sent");

    const killed = cluster.kill(victim);
    // Typed after the pod died: these can only arrive through Ada's outbox and a new connection.
    await ada.send("Ada, typed as her pod died");
    await ada.send("Ada, typed while reconnecting");
    await killed;

    await expect(ada.chat.status).toHaveAttribute("data-state", "connected");
    await expect(ada.chat.status).not.toHaveAttribute("data-pod", victim);
    await ada.send("Ada, on her new pod");
    const counts = others.map((p) => p.sent.length);
    await expect.poll(() => others.every((p, i) => p.sent.length >= (counts[i] ?? 0) + 2)).toBe(true);
  } finally {
    await stop();
  }

  await expectSameCompleteTranscript(everyone);
  const alive = new Set((await cluster.pods()).map((p) => p.name));
  for (const p of [ada, ...sharing]) {
    const s = await p.status();
    expect(alive.has(s.pod ?? ""), `${p.name} moved to a live pod`).toBe(true);
    expect(s.connections, `${p.name} reconnected`).toBeGreaterThanOrEqual(2);
    console.log(`crash: ${p.name} was cut off ${s.disconnectedMs} ms, now on ${s.pod}`);
  }
});
