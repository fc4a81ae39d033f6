import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ClientTrack, type ClusterLog, renderChart } from "@chat/rig";
import { ARTIFACTS_DIR } from "../../support/artifacts.js";
import { expect, expectSameCompleteTranscript, keepTalking, type Person, test } from "./fixtures.js";

const OUT = join(ARTIFACTS_DIR, "cluster-rollout");

test("every pod is replaced while four people keep typing: one complete transcript everywhere, no reload", async ({
  cluster,
  person,
  room,
}, testInfo) => {
  test.setTimeout(180_000);
  const people: Person[] = [];
  for (const name of ["Ada", "Bob", "Cem", "Dee"]) people.push(await person(name, room));
  const marks = await Promise.all(people.map((p) => p.markPage()));
  const oldPods = new Set((await cluster.pods()).map((p) => p.name));
  const start = Date.now();

  const stop = keepTalking(people);
  let rolloutStart = 0;
  try {
    for (const p of people) {
      await expect(p.page.locator('[data-testid="message"][data-status="sent"]').first()).toBeVisible();
    }
    rolloutStart = Date.now();
    await cluster.rollout();
    // Keep talking on the new pods: two more messages from everyone.
    const counts = people.map((p) => p.sent.length);
    await expect.poll(() => people.every((p, i) => p.sent.length >= (counts[i] ?? 0) + 2)).toBe(true);
  } finally {
    await stop();
  }

  await expectSameCompleteTranscript(people);
  const report = [];
  for (const [i, p] of people.entries()) {
    expect(await p.pageMark(), `${p.name}'s page was never reloaded`).toBe(marks[i]);
    const s = await p.status();
    expect(s.state).toBe("connected");
    expect(oldPods.has(s.pod ?? ""), `${p.name} ended on a new pod (${s.pod})`).toBe(false);
    report.push({
      person: p.name,
      sent: p.sent.length,
      disconnectedMs: s.disconnectedMs,
      connections: s.connections,
      pod: s.pod,
    });
  }

  // The evidence: what every browser saw, on the cluster's own log, as JSON and as a chart.
  const tracks = await recordPeople(people, cluster.log);
  mkdirSync(OUT, { recursive: true });
  const summary = { target: cluster.target, rolloutMs: Date.now() - rolloutStart, people: report };
  writeFileSync(join(OUT, "report.json"), JSON.stringify(summary, null, 1));
  writeFileSync(join(OUT, "timeline.json"), JSON.stringify(cluster.log, null, 1));
  const chart = renderChart({
    title: `Rolling update of every pod while 4 browsers type (${cluster.target})`,
    events: cluster.log.events,
    clients: tracks,
    from: start - 500,
    to: Date.now(),
  });
  writeFileSync(join(OUT, "chart.svg"), chart);
  await testInfo.attach("rollout report", { body: JSON.stringify(summary, null, 1), contentType: "application/json" });
  await testInfo.attach("rollout chart", { body: chart, contentType: "image/svg+xml" });
  console.log(
    `rollout with 4 browsers (${OUT}/chart.svg): ${report.map((r) => `${r.person} ${r.disconnectedMs} ms disconnected, ${r.connections} connections`).join("; ")}`,
  );
});

/** Add each browser's sends and connection changes to the cluster log; return chart tracks. */
async function recordPeople(people: Person[], cluster: ClusterLog): Promise<ClientTrack[]> {
  const tracks: ClientTrack[] = [];
  for (const p of people) {
    const page = await p.log();
    const down: [number, number][] = [];
    let since: number | undefined;
    for (const s of page.status) {
      if (s.state === "connected") {
        if (since !== undefined) down.push([since, s.t]);
        since = undefined;
        cluster.insert({ t: s.t, type: "client-connected", client: p.name, detail: { pod: s.pod } });
      } else if (since === undefined && page.status.some((x) => x.state === "connected" && x.t < s.t)) {
        since = s.t;
        cluster.insert({ t: s.t, type: "client-disconnected", client: p.name, detail: { state: s.state } });
      }
    }
    if (since !== undefined) down.push([since, Date.now()]);
    for (const s of p.sent) cluster.insert({ t: s.t, type: "client-send", client: p.name, detail: { text: s.text } });
    const status = await p.status();
    tracks.push({
      name: p.name,
      sends: p.sent.map((s) => s.t),
      down,
      note: `${status.connections} connections, ${status.disconnectedMs} ms disconnected`,
    });
  }
  return tracks;
}
