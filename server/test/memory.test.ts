import { EventEmitter } from "node:events";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ChatSocket } from "../src/realtime/types.js";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";
import { RawClient, until } from "./support/raw-client.js";

// What an idle connection keeps alive is the pod's capacity; these pin the two ways it grew before.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let node: Node;
beforeAll(async () => {
  [node] = (await startNodes(1)) as [Node];
});
afterAll(() => stopNodes([node]));

const sockets = () => [...node.app.io.of("/").sockets.values()] as ChatSocket[];

it("lets the handshake request be collected once the socket is connected", async () => {
  const requests: WeakRef<object>[] = [];
  node.app.io.use((socket, next) => {
    requests.push(new WeakRef(socket.request));
    next();
  });
  const clients = await Promise.all([0, 1].map((i) => RawClient.connect(node.url, { name: `idle${i}` })));
  await until(clients[0] as RawClient, "both sockets", () => sockets().length === 2);
  // A WeakRef's target survives the job that made it: let those jobs end before collecting.
  await new Promise((r) => setTimeout(r, 10));
  gc();
  await new Promise((r) => setTimeout(r, 10));
  gc();
  expect(requests).toHaveLength(2);
  expect(requests.map((r) => r.deref() === undefined)).toEqual([true, true]);
  for (const c of clients) c.close();
});

it("gives every socket the same listeners, not closures of its own", async () => {
  const clients = await Promise.all([0, 1].map((i) => RawClient.connect(node.url, { name: `shared${i}` })));
  await clients[0]?.join("shared");
  await until(clients[0] as RawClient, "two sockets", () => sockets().length >= 2);
  const [a, b] = sockets().slice(-2) as [ChatSocket, ChatSocket];
  const events = a.eventNames();
  expect(events).toEqual(expect.arrayContaining(["room:join", "message:send", "typing", "disconnect"]));
  expect(b.eventNames()).toEqual(events);
  // Through EventEmitter's untyped view: the event names are read back, not written.
  const listeners = (s: ChatSocket, event: string | symbol) => EventEmitter.prototype.listeners.call(s, event);
  for (const event of events) {
    const mine = listeners(a, event);
    for (const [i, listener] of listeners(b, event).entries()) expect(listener).toBe(mine[i]);
  }
  // State is per socket: only the socket that joined has rooms.
  const joined = sockets().filter((s) => s.data.rooms?.has("shared"));
  expect(joined).toHaveLength(1);
  for (const c of clients) c.close();
});
