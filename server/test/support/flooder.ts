import { io } from "socket.io-client";

/**
 * An abusive client in its own process (so its CPU is not the measurer's): connect from one
 * address, join, fire messages without waiting for acks until cut off, reconnect, repeat.
 * argv: url room ip startAt(epoch ms) durationMs ratePerSecond. Prints a JSON summary.
 */
const [url = "", room = "", ip = "", startAt = "0", durationMs = "5000", rate = "2000"] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Start-up (module loading) happens before the measured window.
await sleep(Math.max(0, Number(startAt) - Date.now()));
const end = Date.now() + Number(durationMs);
// startedAt/endedAt let the test count the limiter's fixed windows the flood spanned.
const stats = { sent: 0, connections: 0, refused: 0, cutOff: 0, startedAt: Date.now(), endedAt: 0 };

while (Date.now() < end) {
  const socket = io(url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    extraHeaders: { "X-Forwarded-For": ip },
  });
  const connected = await new Promise<boolean>((resolve) => {
    socket.once("session", () => resolve(true));
    socket.once("connect_error", () => resolve(false));
  });
  if (!connected) {
    stats.refused++;
    socket.close();
    await sleep(50);
    continue;
  }
  stats.connections++;
  socket.emit("room:join", { room }, () => {});
  const perTick = Math.max(1, Math.round(Number(rate) / 100));
  while (socket.connected && Date.now() < end) {
    for (let i = 0; i < perTick; i++)
      socket.emit("message:send", { room, text: "spam", clientId: `spam-${process.pid}-${stats.sent++}` }, () => {});
    await sleep(10);
  }
  if (!socket.connected) stats.cutOff++;
  socket.close();
}
stats.endedAt = Date.now();
console.log(JSON.stringify(stats));
process.exit(0);
