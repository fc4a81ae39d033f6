import { getJson, startPod, waitFor } from "@chat/testkit";
import { RawClient } from "../support/raw-client.js";
import { type FuzzOptions, type FuzzReport, fuzz } from "./raw-fuzzer.js";

export interface FuzzOutcome {
  report: FuzzReport;
  alive: boolean;
  livez: number;
  /** A normal user chatting through the whole run: what it sent, what it got back. */
  control: { sent: number; acked: number; receivedInOrder: boolean; maxAckMs: number };
  memory: { rssBeforeMiB: number; rssAfterMiB: number; heapBeforeMiB: number; heapAfterMiB: number };
  unhandled: string[];
}

const MAX_PAYLOAD = 16_384;

async function memory(adminUrl: string) {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => r.text());
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return { rss: read("process_resident_memory_bytes"), heap: read("nodejs_heap_size_used_bytes") };
}

/** Start a real pod, fuzz it while a control user chats, and report how the pod came out of it. */
export async function fuzzPod(opts: Omit<FuzzOptions, "maxPayload">): Promise<FuzzOutcome> {
  const pod = await startPod({
    name: "fuzz-target",
    env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD), LOG_LEVEL: "error" },
  });
  try {
    const sender = await RawClient.connect(pod.url, { name: "control-sender" });
    const receiver = await RawClient.connect(pod.url, { name: "control-receiver" });
    await sender.join("control");
    await receiver.join("control");
    const before = await memory(pod.adminUrl);

    let chatting = true;
    const control = { sent: 0, acked: 0, receivedInOrder: false, maxAckMs: 0 };
    const chat = (async () => {
      while (chatting && control.sent < 100_000) {
        control.sent++;
        const t0 = Date.now();
        const res = await sender.send("control", `control ${control.sent}`).catch(() => undefined);
        if (res?.ok) control.acked++;
        control.maxAckMs = Math.max(control.maxAckMs, Date.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const report = await fuzz(pod.url, { ...opts, maxPayload: MAX_PAYLOAD });
    chatting = false;
    await chat;
    await waitFor("control messages delivered", () => receiver.seqs("control").length >= control.acked, {
      timeoutMs: 10_000,
    });
    const seqs = receiver.seqs("control");
    control.receivedInOrder = seqs.every((s, i) => s === i + 1);
    sender.close();
    receiver.close();

    await new Promise((r) => setTimeout(r, 1000));
    const after = await memory(pod.adminUrl);
    const livez = (await getJson(`${pod.url}/livez`)).status;
    const alive = pod.proc.child.exitCode === null;
    const unhandled = pod.proc
      .output()
      .split("\n")
      .filter((l) => /unhandled|uncaught|FATAL/i.test(l));
    return {
      report,
      alive,
      livez,
      control,
      memory: {
        rssBeforeMiB: before.rss,
        rssAfterMiB: after.rss,
        heapBeforeMiB: before.heap,
        heapAfterMiB: after.heap,
      },
      unhandled,
    };
  } finally {
    await pod.stop("SIGKILL");
  }
}
