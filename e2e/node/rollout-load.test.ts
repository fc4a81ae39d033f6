/**
 * Spec 2 at scale, without browsers: 200 chat bots (testkit's ChatBot: the browser's own
 * @chat/client-core with a recorder) chat through the ingress while every pod is replaced. One in ten uses HTTP long-polling only, so the cookie affinity carries real traffic.
 *
 * Reports lost and duplicated messages and the longest time a bot was without a usable
 * connection; asserts nothing was lost or stored twice and every bot ended on a new pod.
 * Runs against the rig (default) or kind (E2E_TARGET=kind).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "@chat/protocol";
import { renderChart, type Series } from "@chat/rig";
import { auditDelivery, ChatBot, delay, loopbackLimits, waitFor } from "@chat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ClusterDriver } from "../drivers/driver.js";
import { driverFromEnv } from "../drivers/select-driver.js";
import { ARTIFACTS_DIR } from "../support/artifacts.js";

const BOTS = Number(process.env.E2E_LOAD_BOTS ?? 200);
const ROOMS = Math.max(1, Math.round(BOTS / 10));
const POLLING_EVERY = 10; // bot i uses long-polling when i % 10 === 0
const SEND_EVERY_MS = 2500;
const OUT = join(ARTIFACTS_DIR, "node-rollout-load");

let driver: ClusterDriver;
const bots: ChatBot[] = [];

beforeAll(async () => {
  driver = await driverFromEnv({
    // Every bot connects from 127.0.0.1, so the per-IP abuse limits (sized for one person's
    // address) would throttle the whole test; raised here, explicitly, and listed in the timeline.
    // Against kind, run the bots from enough addresses or raise them in the ConfigMap.
    overrides: { env: loopbackLimits() },
  });
}, 120_000);

afterAll(async () => {
  for (const b of bots) b.close();
  await driver?.stop();
});

it(`${BOTS} bots chat through a rolling update of every pod: nothing lost, nothing stored twice`, async () => {
  const room = (i: number) => `load-${i % ROOMS}`;
  for (let i = 0; i < BOTS; i++) {
    bots.push(
      new ChatBot({
        name: `bot${i}`,
        rooms: [room(i)],
        url: () => driver.baseUrl,
        transports: i % POLLING_EVERY === 0 ? ["polling"] : ["websocket"],
      }),
    );
  }
  // Arrive in waves, as users do, not all in the same millisecond.
  for (let i = 0; i < bots.length; i += 25) await Promise.all(bots.slice(i, i + 25).map((b) => b.start()));
  const oldPods = new Set((await driver.pods()).map((p) => p.name));

  // Sample how many bots have a usable connection, for the chart.
  const connected: Series = { label: "bots connected", points: [], max: BOTS };
  const sampler = setInterval(() => connected.points.push([Date.now(), bots.filter((b) => b.connected).length]), 100);

  let chatting = true;
  const sends: Promise<ChatMessage>[] = [];
  const chat = async (b: ChatBot, i: number) => {
    await delay(Math.random() * SEND_EVERY_MS);
    for (let n = 0; chatting && n < 200; n++) {
      sends.push(b.send(room(i), `bot${i} #${n}`));
      await delay(SEND_EVERY_MS * (0.75 + Math.random() / 2));
    }
  };
  const loops = bots.map((b, i) => chat(b, i));
  try {
    await waitFor("every bot to have a message acknowledged", () => bots.every((b) => b.acked.length > 0), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    const rolloutStart = Date.now();
    await driver.rollout();
    const rolloutMs = Date.now() - rolloutStart;
    await delay(2000); // keep chatting on the new pods for a moment
    chatting = false;
    await Promise.all(loops);

    // Waits that time out are reported with the numbers, not thrown before them.
    const settle = async (what: string, check: () => boolean) => {
      try {
        await waitFor(what, check, { timeoutMs: 30_000, intervalMs: 200 });
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const unackedWait = await settle("every send acknowledged", () => bots.every((b) => b.pending === 0));
    const unacked = bots
      .map((b, i) => ({ b, i }))
      .filter(({ b }) => b.pending > 0)
      .map(({ b, i }) => ({
        bot: i,
        transport: i % POLLING_EVERY === 0 ? "polling" : "websocket",
        pending: b.pending,
        connected: b.connected,
        pod: b.session?.pod,
        connections: b.connections,
        errors: b.errors.slice(-5),
      }));
    const acked = bots.flatMap((b) => b.acked);
    const last = new Map<string, number>();
    for (const m of acked) last.set(m.room, Math.max(last.get(m.room) ?? 0, m.seq));
    const transcriptWait = await settle("every bot to have its room's whole transcript", () =>
      bots.every((b, i) => b.cursor(room(i)) >= (last.get(room(i)) ?? 0)),
    );
    clearInterval(sampler);

    const { lost, storedTwice, duplicateDeliveries } = auditDelivery(bots);
    const gap = (list: ChatBot[]) => Math.max(0, ...list.map((b) => b.disconnectedMs));
    const polling = bots.filter((_, i) => i % POLLING_EVERY === 0);
    const websocket = bots.filter((_, i) => i % POLLING_EVERY !== 0);
    const stillOnOldPod = bots.filter((b) => oldPods.has(b.session?.pod ?? "")).length;
    const exits = driver.log.events.filter((e) => e.type === "pod-exited" && oldPods.has(e.pod ?? ""));
    const crashes = driver.log.events
      .filter((e) => e.type === "pod-exited" && e.detail?.expected === false)
      .map((e) => `${e.pod} exited ${e.detail?.code}: ${String(e.detail?.output ?? "").slice(-600)}`);
    const report = {
      target: driver.target,
      bots: BOTS,
      rooms: ROOMS,
      pollingBots: polling.length,
      rolloutMs,
      messagesSent: sends.length,
      messagesAcked: acked.length,
      unacked: unacked.length,
      waits: [unackedWait, transcriptWait].filter(Boolean),
      lost: lost.length,
      storedTwice: storedTwice.length,
      duplicateDeliveries,
      maxGapMs: { websocket: gap(websocket), polling: gap(polling) },
      botsWithAGap: bots.filter((b) => b.disconnectedMs > 0).length,
      drainNotices: bots.reduce((n, b) => n + b.drainNotices.length, 0),
      connectionsPerBot: {
        max: Math.max(...bots.map((b) => b.connections)),
        min: Math.min(...bots.map((b) => b.connections)),
      },
      stillOnOldPod,
      podCrashes: crashes.length,
      oldPodExits: exits.map((e) => ({ pod: e.pod, code: e.detail?.code })),
      errors: bots.flatMap((b) => b.errors).slice(0, 20),
      // What the first bot that lost its connection went through, relative to the rollout start.
      firstGap: bots
        .find((b) => b.disconnectedMs > 0)
        ?.events.map((e) => `${e.at - rolloutStart} ms: ${e.what}`)
        .slice(-12),
    };
    mkdirSync(OUT, { recursive: true });
    writeFileSync(
      join(OUT, "report.json"),
      JSON.stringify({ report, unacked, lost: lost.slice(0, 50), storedTwice }, null, 1),
    );
    writeFileSync(join(OUT, "timeline.json"), JSON.stringify(driver.log, null, 1));
    writeFileSync(
      join(OUT, "chart.svg"),
      renderChart({
        title: `${BOTS} bots through a rolling update (${driver.target})`,
        events: driver.log.events,
        series: [connected],
        from: rolloutStart - 2000,
      }),
    );
    console.log(`rollout load report (${OUT}):\n${JSON.stringify(report, null, 1)}`);

    expect(crashes, "pods that died on their own during the rollout").toEqual([]);
    expect(unacked, "sends never acknowledged").toEqual([]);
    expect(lost, "acknowledged messages missing from someone's transcript").toEqual([]);
    expect(storedTwice, "a send stored under two seqs").toEqual([]);
    expect(stillOnOldPod, "bots left on a pod that is gone").toBe(0);
    if (driver.target === "rig") {
      // Every old pod drained and exited by itself (0), inside its grace period: none was SIGKILLed.
      expect(exits.map((e) => e.detail?.code)).toEqual([...oldPods].map(() => 0));
    }
  } finally {
    chatting = false;
    clearInterval(sampler);
  }
}, 240_000);
