import { PRESENCE_DELTA_PROTOCOL } from "@chat/protocol";
import { type PodHandle, startPod } from "@chat/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { RawClient, until } from "./support/raw-client.js";

const pods: PodHandle[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(pods.splice(0).map((p) => p.stop("SIGKILL")));
});

type TypingEvent = { room: string; user: { id: string; name: string }; typing: boolean };

describe("typing indicators", () => {
  it("says 'stopped' for a user who disconnects while typing, and nothing for one who was not", async () => {
    const pod = await startPod();
    pods.push(pod);
    const [watcher, typist, quiet] = await Promise.all(
      ["watcher", "typist", "quiet"].map((name) =>
        RawClient.connect(pod.url, { name, protocol: PRESENCE_DELTA_PROTOCOL }),
      ),
    );
    clients.push(watcher as RawClient, typist as RawClient, quiet as RawClient);
    const w = watcher as RawClient;
    const seen: TypingEvent[] = [];
    w.socket.on("typing", (t) => seen.push(t as TypingEvent));
    for (const c of [w, typist, quiet] as RawClient[]) expect((await c.join("room")).ok).toBe(true);

    (typist as RawClient).socket.emit("typing", { room: "room", typing: true });
    await until(w, "the typist's indicator", () => seen.some((t) => t.user.name === "typist" && t.typing));
    (quiet as RawClient).close();
    // Its leave is announced after its disconnect was handled: a "stopped" would have come first.
    await until(w, "the quiet one's leave", () => w.deltas.some((d) => d.left.some((u) => u.name === "quiet")));
    (typist as RawClient).close();
    await until(w, "the typist's 'stopped'", () => seen.some((t) => t.user.name === "typist" && !t.typing));
    expect(seen.filter((t) => t.user.name === "quiet")).toEqual([]);
  });
});
