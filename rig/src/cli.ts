/**
 * `pnpm cluster <command>`: the local cluster rig from a terminal.
 *
 *   pnpm cluster up [--replicas N] [--port P] [--fast]   start it; prints the URL and a live pod table
 *   pnpm cluster rollout                                  kubectl rollout restart deployment/chat
 *   pnpm cluster kill [pod]                               SIGKILL a pod (default: the busiest)
 *   pnpm cluster delete [pod]                             graceful delete (preStop, SIGTERM, grace)
 *   pnpm cluster scale N                                  kubectl scale --replicas=N
 *   pnpm cluster redis-restart                            stop Redis for a second, start it again
 *   pnpm cluster status                                   the pods, once
 *   pnpm cluster down                                     tear the running rig down (as Ctrl-C does)
 */
import { parseArgs } from "node:util";
import { type ClusterEvent, formatEvent } from "./cluster-log.js";
import { type ControlLine, findControl, removeControlFile, serveControl } from "./control.js";
import { FAST, mergeOverrides, type RigOverrides } from "./overrides.js";
import { podUser } from "./pod.js";
import { type PodStatus, startRig } from "./rig.js";

const USAGE = `usage: pnpm cluster <command>

  up [--replicas N] [--port P] [--fast]   start the rig (HAProxy on 127.0.0.1:P, default 8080);
                                          --fast: the test suite's short drain/grace/probe timings
  rollout                                 roll every pod (kubectl rollout restart deployment/chat)
  kill [pod]                              SIGKILL a pod, as kubectl delete --grace-period=0 --force
  delete [pod]                            delete a pod gracefully (preStop, SIGTERM, grace period)
  scale N                                 set the replica count
  redis-restart                           stop Redis, start it again
  status                                  print the pods
  down                                    stop the running rig`;

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      replicas: { type: "string" },
      port: { type: "string" },
      fast: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) return console.log(USAGE);
  switch (command) {
    case "up":
      return up({
        replicas: values.replicas === undefined ? undefined : positiveInt(values.replicas, "--replicas"),
        port: values.port === undefined ? 8080 : positiveInt(values.port, "--port", true),
        fast: values.fast ?? false,
      });
    case "status":
      return status();
    case "rollout":
    case "redis-restart":
      return operation(`/${command}`);
    case "kill":
    case "delete":
      return operation(`/${command}${arg ? `?pod=${encodeURIComponent(arg)}` : ""}`);
    case "scale":
      if (!arg) throw new Error("scale needs a replica count: pnpm cluster scale 5");
      return operation(`/scale?replicas=${positiveInt(arg, "replicas", true)}`);
    case "down": {
      const { control } = findControl();
      await fetch(`${control}/down`, { method: "POST" });
      return console.log("rig stopping");
    }
    default:
      throw new Error(`unknown command '${command}'\n\n${USAGE}`);
  }
}

function positiveInt(v: string, what: string, zeroOk = false): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new Error(`${what} must be an integer, got '${v}'`);
  return n;
}

async function up(opts: { replicas: number | undefined; port: number; fast: boolean }) {
  const overrides: RigOverrides = mergeOverrides(opts.fast ? FAST : undefined, { replicas: opts.replicas });
  // Signal handlers first, so the rig's own last-resort handlers (reaper.ts) stand aside.
  let stopping = false;
  let teardown: () => Promise<void> = async () => process.exit(130);
  const down = async () => {
    if (stopping) return;
    stopping = true;
    await teardown();
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      // A second Ctrl-C while tearing down: leave now (exit handlers still kill every child).
      if (stopping) process.exit(130);
      void down();
    });
  }
  console.log("starting the rig (redis-server, HAProxy, pods from k8s/overlays/kind)...");
  const rig = await startRig({ overrides, port: opts.port === 0 ? undefined : opts.port });
  const tty = process.stdout.isTTY === true;
  process.once("exit", removeControlFile);
  const recent: ClusterEvent[] = rig.log.events.filter((e) => e.type !== "override").slice(-12);
  rig.log.on((e) => {
    recent.push(e);
    if (recent.length > 12) recent.shift();
    if (!tty) console.log(formatEvent(e, rig.log.startedAt));
  });

  let timer: NodeJS.Timeout | undefined;
  teardown = async () => {
    clearInterval(timer);
    console.log("\ntearing down...");
    await rig.stop();
    removeControlFile();
    console.log(`stopped; pod logs and the cluster log (timeline.json) in ${rig.logDir}`);
    process.exit(0);
  };
  if (stopping) return teardown(); // Ctrl-C arrived while starting
  const server = await serveControl(rig, () => void down());
  server.unref();

  const user = podUser(rig.model);
  const header = [
    `chat on ${rig.url}   (${rig.model.source}${rig.overrides.length ? `, ${rig.overrides.length} overrides` : ""})`,
    `pods run the deploy artifact ${rig.artifact.root} (${rig.artifact.reused ? "reused" : `built in ${rig.artifact.ms} ms`}) as uid ${user.uid}${user.switched ? "" : " (the rig's own user; only root can switch)"}`,
    "pnpm cluster rollout | kill [pod] | delete [pod] | scale N | redis-restart | status      Ctrl-C: tear down",
  ];
  if (tty) {
    const draw = () => {
      const lines = [
        ...header,
        "",
        ...podTable(rig.pods()),
        "",
        "recent events:",
        ...recent.map((e) => formatEvent(e, rig.log.startedAt)),
      ];
      process.stdout.write(`\x1b[H\x1b[2J${lines.join("\n")}\n`);
    };
    draw();
    timer = setInterval(draw, 1000);
  } else {
    console.log(header.join("\n"));
    timer = setInterval(() => console.log(podTable(rig.pods()).join("\n")), 10_000);
  }
}

function podTable(pods: PodStatus[]): string[] {
  const age = (t: number) => {
    const s = Math.round((Date.now() - t) / 1000);
    return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
  };
  const rows = [
    ["POD", "PHASE", "READY", "ENDPOINT", "CONNECTIONS", "AGE"],
    ...pods.map((p) => [
      p.name,
      p.phase,
      p.ready ? "yes" : "no",
      p.routed ? `${p.slot} (in)` : (p.slot ?? "-"),
      p.connections === undefined ? "-" : String(p.connections),
      age(p.createdAt),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

async function status() {
  const { control } = findControl();
  const res = await fetch(`${control}/status`);
  const body = (await res.json()) as { url: string; pods: PodStatus[]; logDir: string };
  console.log(`chat on ${body.url}\n\n${podTable(body.pods).join("\n")}\n\nlogs: ${body.logDir}`);
}

/** Run an operation on the running rig, printing its events as they happen. */
async function operation(path: string) {
  const { control } = findControl();
  const res = await fetch(`${control}${path}`, { method: "POST" });
  if (!res.ok || !res.body) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  let origin: number | undefined;
  let buffered = "";
  let result: ControlLine | undefined;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += Buffer.from(chunk).toString();
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as ControlLine;
      buffered = buffered.slice(nl + 1);
      if ("event" in line) {
        origin ??= line.event.t;
        console.log(formatEvent(line.event, origin));
      } else result = line;
      nl = buffered.indexOf("\n");
    }
  }
  if (result && "error" in result) throw new Error(result.error);
  console.log(`${path.slice(1).split("?")[0]}: done`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(`cluster: ${err.message}`);
  process.exit(1);
});
