import { ChatBot } from "@chat/testkit";
import { expect, type Person, test } from "./fixtures.js";

const AFFINITY_COOKIE = "SERVERID"; // haproxy/haproxy.cfg and the Traefik sticky cookie use the same name

test("people on different pods chat both ways, and a long-polling client stays on its pod by the cookie", async ({
  cluster,
  person,
  room,
  baseURL,
}) => {
  const ada = await person("Ada", room);
  const adaPod = await ada.pod();
  // The ingress balances new sessions over the pods; open people until one is on another pod (bounded).
  let bob: Person | undefined;
  for (const name of ["Bob", "Bea", "Ben"]) {
    const p = await person(name, room);
    if ((await p.pod()) !== adaPod) {
      bob = p;
      break;
    }
  }
  if (!bob) throw new Error(`every new browser landed on ${adaPod}: the ingress does not balance new sessions`);
  const bobPod = await bob.pod();
  expect((await cluster.pods()).map((p) => p.name)).toEqual(expect.arrayContaining([adaPod, bobPod]));

  await ada.send("Hello from Ada's pod");
  await expect(bob.chat.message("Hello from Ada's pod")).toHaveAttribute("data-seq", "1");
  await bob.send("And hello back from Bob's");
  await expect(ada.chat.message("And hello back from Bob's")).toHaveAttribute("data-seq", "2");

  // Each browser carries the ingress's affinity cookie, and each kept its one connection and pod.
  const cookie = async (p: Person) =>
    (await p.context.cookies()).find((c) => c.name === AFFINITY_COOKIE)?.value ?? "(none)";
  const [adaCookie, bobCookie] = [await cookie(ada), await cookie(bob)];
  expect(adaCookie).not.toBe("(none)");
  expect(bobCookie).not.toBe(adaCookie);
  for (const [p, pod] of [
    [ada, adaPod],
    [bob, bobPod],
  ] as const) {
    await expect(p.chat.status).toHaveAttribute("data-pod", pod);
    await expect(p.chat.status).toHaveAttribute("data-connections", "1");
  }

  // A client that can only long-poll: every request of its session must reach the same pod.
  const poller = new ChatBot({ name: "Polly", rooms: [room], url: () => baseURL ?? "", transports: ["polling"] });
  try {
    await poller.start();
    expect(poller.cursor(room), "the poller got the history").toBe(2);
    await poller.send(room, "Sent over HTTP long-polling");
    for (const p of [ada, bob])
      await expect(p.chat.message("Sent over HTTP long-polling")).toHaveAttribute("data-seq", "3");
    await ada.send("Ada to Polly");
    await expect.poll(() => poller.cursor(room), { message: "the poller receives new messages" }).toBe(4);
    expect(poller.connections, "the poller never had to reconnect").toBe(1);
    expect(poller.errors).toEqual([]);
  } finally {
    poller.close();
  }

  // And it is the cookie that routes: a polling session's request with another pod's cookie
  // reaches that pod, which does not know the session.
  const handshake = await fetch(`${baseURL}/socket.io/?EIO=4&transport=polling`);
  const sid = (JSON.parse((await handshake.text()).slice(1)) as { sid: string }).sid;
  const own = handshake.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith(`${AFFINITY_COOKIE}=`));
  expect(own, "the ingress pins a new polling session with its cookie").toBeDefined();
  const other = [adaCookie, bobCookie].find((v) => `${AFFINITY_COOKIE}=${v}` !== own) as string;
  const post = (cookieHeader: string) =>
    fetch(`${baseURL}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: "POST",
      body: "6", // engine.io "noop"
      headers: { cookie: cookieHeader, "content-type": "text/plain;charset=UTF-8" },
    });
  const right = await post(own as string);
  expect(right.status, "same cookie: the pod that owns the session").toBe(200);
  const wrong = await post(`${AFFINITY_COOKIE}=${other}`);
  expect(wrong.status, "another pod's cookie: a pod that never saw this session").toBe(400);
  expect(await wrong.text()).toContain("Session ID unknown");
});
