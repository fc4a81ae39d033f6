import type { ChatMessage } from "@chat/protocol";
import { auditDelivery, ChatBot, delay, waitFor } from "@chat/testkit";
import type { ClusterDriver } from "../drivers/driver.js";

export interface ChaosOptions {
  bots: number;
  rooms: number;
  durationMs: number;
  killEveryMs: number;
  sendEveryMs: number;
  seed: number;
  progress?: (line: string) => void;
}

export interface ChaosReport {
  bots: number;
  kills: string[];
  acked: number;
  /** (member, seq) pairs: a message up to the room's last ack that a member never got (see auditDelivery). */
  lost: number;
  /** clientIds stored under more than one seq. */
  duplicated: number;
  /** Repeated broadcasts (the client dedupes them; reported for interest). */
  redelivered: number;
  disconnectedMs: { p50: number; p99: number; max: number };
  durationMs: number;
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

/**
 * Chaos: clients chat while a random pod is SIGKILLed every `killEveryMs`. Every acknowledged
 * message must reach every member of its room exactly once (by seq), and no clientId may be
 * stored twice: acks mean "stored", and retries after a crash must not store again.
 */
export async function runChaos(driver: ClusterDriver, opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  let state = opts.seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const room = (i: number) => `chaos-${i % opts.rooms}`;
  const bots = Array.from(
    { length: opts.bots },
    (_, i) => new ChatBot({ name: `c${i}`, rooms: [room(i)], url: () => driver.baseUrl, ackTimeoutMs: 3000 }),
  );
  try {
    for (let i = 0; i < bots.length; i += 25) await Promise.all(bots.slice(i, i + 25).map((b) => b.start()));
    opts.progress?.(`${bots.length} clients connected; chaos for ${opts.durationMs / 1000} s`);

    const chaosStart = Date.now();
    const end = chaosStart + opts.durationMs;
    const sends: Promise<ChatMessage>[] = [];
    const chat = async (bot: ChatBot, i: number) => {
      await delay(random() * opts.sendEveryMs);
      for (let n = 0; Date.now() < end && n < 10_000; n++) {
        sends.push(bot.send(room(i), `${i}:${n}`));
        await delay(opts.sendEveryMs * (0.5 + random()));
      }
    };
    const kills: string[] = [];
    const replacements: Promise<void>[] = [];
    // On a fixed beat, not "after the last replacement": a kill every killEveryMs, as asked.
    const killer = async () => {
      for (let at = chaosStart + opts.killEveryMs; at + 1000 <= end; at += opts.killEveryMs) {
        await delay(at - Date.now());
        const candidates = (await driver.pods()).filter((p) => p.ready && !p.terminating);
        const victim = candidates[Math.floor(random() * candidates.length)];
        if (!victim) continue;
        kills.push(victim.name);
        opts.progress?.(`SIGKILL ${victim.name} (${kills.length})`);
        replacements.push(driver.kill(victim.name));
      }
      await Promise.all(replacements);
    };
    await Promise.all([...bots.map(chat), killer()]);
    await waitFor("every send acknowledged", () => bots.every((b) => b.pending === 0), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const acked = await Promise.all(sends);

    // Everyone in a room must end up with everything acknowledged there.
    const maxSeq = new Map<string, number>();
    for (const m of acked) maxSeq.set(m.room, Math.max(maxSeq.get(m.room) ?? 0, m.seq));
    await waitFor(
      "every member caught up",
      () => bots.every((b, i) => b.cursor(room(i)) >= (maxSeq.get(room(i)) ?? 0)),
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch(() => {});
    const audit = auditDelivery(bots);
    const down = bots.map((b) => b.disconnectedMs);
    return {
      bots: bots.length,
      kills,
      acked: acked.length,
      lost: audit.lost.length,
      duplicated: audit.storedTwice.length,
      redelivered: audit.duplicateDeliveries,
      disconnectedMs: { p50: percentile(down, 0.5), p99: percentile(down, 0.99), max: Math.max(...down) },
      durationMs: Date.now() - started,
    };
  } finally {
    for (const b of bots) b.close();
  }
}
