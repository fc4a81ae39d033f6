import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENV_NAMES, loadConfig } from "@chat/server/config";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import {
  ancestry,
  copySources,
  dockerignore,
  execForm,
  parseDockerfile,
  runParts,
  stages as stagesOf,
} from "./support/dockerfile.js";
import { FieldChecker, schemaErrors } from "./support/models.js";
import { type K8sObject, parseObjects } from "./support/objects.js";
import { K8S_DIR, REPO_DIR, repoPath } from "./support/paths.js";
import { AFFINITY_COOKIE, HEARTBEAT_FACTOR } from "./support/policy.js";
import { serverMetricNames } from "./support/server.js";
import { kustomize, which } from "./support/tools.js";

/**
 * The files around the manifests: Dockerfile, .dockerignore, docker-compose.yml, skaffold.yaml,
 * haproxy/haproxy.cfg, the kind cluster and controller settings, the Grafana dashboard. They
 * must parse, point at things that exist, and agree with each other and with the server.
 */

const read = (...p: string[]) => readFileSync(repoPath(...p), "utf8");
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is explored freely and asserted on
type Any = any;
const yamlFile = (...p: string[]): Any => {
  const doc = parseDocument(read(...p), { merge: true });
  if (doc.errors.length > 0) throw new Error(`${p.join("/")}: ${doc.errors[0]?.message}`);
  if (doc.warnings.length > 0) throw new Error(`${p.join("/")}: ${doc.warnings[0]?.message}`);
  return doc.toJS();
};
/** KEY=VALUE lines (the format of k8s/base/chat.env, read by kustomize and compose alike). */
const envFile = (...p: string[]): Record<string, string> =>
  Object.fromEntries(
    read(...p)
      .split("\n")
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

const chatEnv = envFile("k8s", "base", "chat.env");
const heartbeatS = (Number(chatEnv.PING_INTERVAL_MS) + Number(chatEnv.PING_TIMEOUT_MS)) / 1000;
const deployment = parseObjects(read("k8s", "base", "chat-deployment.yaml"), "chat-deployment.yaml")[0] as Any;
const podSpec = deployment.spec.template.spec;

describe("Dockerfile", () => {
  const instructions = parseDockerfile(read("Dockerfile"));
  const ignored = dockerignore(read(".dockerignore"));
  const stages = instructions.filter((i) => i.op === "FROM").map((i) => i.args.split(/\s+AS\s+/i)[1]);

  it("copies only files that exist and that .dockerignore lets into the build context", () => {
    const copies = instructions.filter((i) => i.op === "COPY" || i.op === "ADD").map(copySources);
    expect(copies.length).toBeGreaterThan(0);
    for (const { from, sources } of copies) {
      if (from) {
        expect(stages, `COPY --from=${from}`).toContain(from);
        continue;
      }
      for (const src of sources) {
        expect(existsSync(repoPath(src)), `COPY ${src}: missing`).toBe(true);
        if (src !== ".") expect(ignored(src), `COPY ${src}: excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it("keeps every workspace package manifest in the context (pnpm install --frozen-lockfile needs them)", () => {
    const workspace = parse(read("pnpm-workspace.yaml")) as { packages: string[] };
    for (const pkg of ["package.json", "pnpm-lock.yaml", ...workspace.packages.map((p) => `${p}/package.json`)]) {
      expect(existsSync(repoPath(pkg)), pkg).toBe(true);
      expect(ignored(pkg), `${pkg} is excluded by .dockerignore`).toBe(false);
    }
    const outside = [
      "node_modules/x",
      "server/dist/main.js",
      ".git/HEAD",
      "k8s/base/chat.env",
      // Sources of packages the image does not build, tests and docs: editing them must not
      // rebuild the image.
      "e2e/specs/chat.spec.ts",
      "e2e/playwright.config.ts",
      "bench/src/main.ts",
      "testkit/src/index.ts",
      "server/test/stores.test.ts",
      "server/src/config.test.ts",
      "client/src/connection/outbox.test.ts",
      "README.md",
      "docs/deploy.md",
      "k8s/components/tls/README.md",
      ".github/workflows/kind-e2e.yml",
      "scripts/other.sh",
    ];
    for (const path of outside) expect(ignored(path), `${path} should stay out of the context`).toBe(true);
    for (const needed of [
      "scripts/deploy-artifact.sh",
      "server/src/main.ts",
      "client/index.html",
      "protocol/src/index.ts",
    ]) {
      expect(ignored(needed), `${needed} is needed by the image`).toBe(false);
    }
  });

  it("installs the pnpm version the repository declares", () => {
    const declared = (JSON.parse(read("package.json")) as { packageManager: string }).packageManager;
    expect(read("Dockerfile")).toContain(`npm install --global ${declared}`);
  });

  const all = stagesOf(instructions);
  const runs = instructions.filter((i) => i.op === "RUN").map(runParts);
  const pnpmRuns = runs.filter((r) => /^pnpm\b/.test(r.command));

  it("keeps the pnpm store in the layers, so a restored layer cache installs with --offline", () => {
    // A store in a cache mount is empty on a fresh runner even when the `pnpm fetch` layer
    // comes from a remote cache; the --offline installs after it would then fail.
    for (const r of pnpmRuns) expect(r.mounts, r.command).toEqual([]);
    const fetch = pnpmRuns.filter((r) => /\bpnpm fetch\b/.test(r.command));
    expect(fetch).toHaveLength(1);
    const storeEnv = instructions.find((i) => i.op === "ENV" && /npm_config_store_dir=\S+/.test(i.args));
    expect(storeEnv, "ENV npm_config_store_dir").toBeDefined();
    expect(storeEnv?.line ?? Infinity).toBeLessThan(instructions.find((i) => /pnpm fetch/.test(i.args))?.line ?? 0);
    // The fetch layer depends on the lockfile only: no source COPY before it in its stage chain.
    const fetchStage = [...all].find(([, ins]) => ins.some((i) => /pnpm fetch/.test(i.args)))?.[0] ?? "";
    const before = ancestry(all, fetchStage).flatMap((s) => all.get(s) ?? []);
    const copied = before.filter((i) => i.op === "COPY").flatMap((i) => copySources(i).sources);
    expect(copied.sort()).toEqual([".npmrc", "pnpm-lock.yaml", "pnpm-workspace.yaml"]);
  });

  it("installs only the built packages' dependencies, offline, without install scripts", () => {
    const installs = pnpmRuns.filter((r) => /\bpnpm install\b/.test(r.command));
    expect(installs.map((r) => r.command.match(/--filter "([^"]+)"/)?.[1]).sort()).toEqual([
      "@chat/client...",
      "@chat/server...",
    ]);
    for (const { command } of installs) {
      for (const flag of ["--frozen-lockfile", "--offline", "--ignore-scripts"]) expect(command).toContain(flag);
    }
    // No whole-workspace install, build or deploy anywhere.
    for (const { command } of pnpmRuns.filter((r) => !/pnpm (fetch|install)\b/.test(r.command))) {
      expect(command, command).toMatch(/^pnpm --filter "@chat\/(client|server)\.\.\." run build$/);
    }
    expect(pnpmRuns.some((r) => /\bdeploy\b/.test(r.command))).toBe(false);
  });

  it("copies every workspace manifest before the first install (a frozen-lockfile install checks them all)", () => {
    const workspace = parse(read("pnpm-workspace.yaml")) as { packages: string[] };
    const firstInstall = instructions.find((i) => i.op === "RUN" && /pnpm install/.test(i.args))?.line ?? 0;
    const copiedBefore = instructions
      .filter((i) => i.op === "COPY" && i.line < firstInstall && !copySources(i).from)
      .flatMap((i) => copySources(i).sources);
    for (const pkg of ["package.json", ...workspace.packages.map((p) => `${p}/package.json`)]) {
      expect(copiedBefore, `COPY ${pkg} before the first pnpm install`).toContain(pkg);
    }
  });

  it("gives each build stage the sources of the workspace packages its package depends on", () => {
    const manifest = (dir: string) =>
      JSON.parse(read(dir, "package.json")) as { name: string; dependencies?: Record<string, string> };
    const workspace = parse(read("pnpm-workspace.yaml")) as { packages: string[] };
    const dirOf = new Map(workspace.packages.map((d) => [manifest(d).name, d]));
    /** The package's directory and those of its workspace dependencies (production ones: what is built). */
    const closure = (dir: string, seen = new Set<string>()): Set<string> => {
      seen.add(dir);
      for (const [name, spec] of Object.entries(manifest(dir).dependencies ?? {})) {
        const dep = dirOf.get(name);
        if (spec.startsWith("workspace:") && dep && !seen.has(dep)) closure(dep, seen);
      }
      return seen;
    };
    for (const [stage, dir] of [
      ["client", "client"],
      ["server", "server"],
    ] as const) {
      const copied = (all.get(stage) ?? []).filter((i) => i.op === "COPY").flatMap((i) => copySources(i).sources);
      for (const d of closure(dir)) expect(copied, `stage ${stage}: COPY ${d}/`).toContain(`${d}/`);
    }
  });

  it("makes the server directory with scripts/deploy-artifact.sh, the one way to make it", () => {
    const server = all.get("server") ?? [];
    const deploy = server.filter((i) => i.op === "RUN" && i.args.startsWith("scripts/deploy-artifact.sh "));
    expect(deploy).toHaveLength(1);
    const out = deploy[0]?.args.split(/\s+/)[1];
    const runtime = all.get("runtime") ?? [];
    const copy = runtime.find((i) => i.op === "COPY" && copySources(i).from === "server");
    expect(copy && copySources(copy).sources).toEqual([out]);
    expect(read("scripts", "deploy-artifact.sh")).toMatch(
      /pnpm\}? --config\.inject-workspace-packages=true --filter @chat\/server \\\n\s+deploy --prod --offline --ignore-scripts/,
    );
    // The runtime image is built from the Node image itself, not from a stage with the store.
    const baseImage = instructions[0]?.op === "ARG" ? instructions[0].args.split("=")[0] : undefined;
    expect(ancestry(all, "runtime")).toEqual(["runtime", `\${${baseImage}}`]);
  });

  it("listens dual-stack (HOST=::) in the image, as in the manifests", () => {
    const env = (all.get("runtime") ?? []).filter((i) => i.op === "ENV").map((i) => i.args);
    expect(env.join(" ")).toMatch(/(^|\s)HOST=::(\s|$)/);
    expect(chatEnv.HOST).toBe("::");
  });

  it("starts the server the one way: node server/dist/main.js, as a numeric non-root user", () => {
    const last = (op: string) => instructions.filter((i) => i.op === op).at(-1);
    const cmd = last("CMD");
    expect(cmd && execForm(cmd)).toEqual(["node", "server/dist/main.js"]);
    expect(instructions.some((i) => i.op === "ENTRYPOINT")).toBe(false);
    // The entry point is the server package's main, built from server/src/main.ts.
    expect((JSON.parse(read("server", "package.json")) as { main: string }).main).toBe("./dist/main.js");
    expect(existsSync(repoPath("server", "src", "main.ts"))).toBe(true);
    // The same numeric user as the pod's securityContext, so runAsNonRoot can verify it.
    const user = last("USER")?.args;
    expect(user).toBe(`${podSpec.securityContext.runAsUser}:${podSpec.securityContext.runAsGroup}`);
    // The Deployment spells out the image's command and directory, for whatever reads the manifest.
    expect(podSpec.containers[0].command).toEqual(cmd && execForm(cmd));
    expect(podSpec.containers[0].args).toBeUndefined();
    expect(podSpec.containers[0].workingDir).toBe(last("WORKDIR")?.args);
  });

  it("exposes the ports the server listens on", () => {
    const exposed = instructions.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
    expect(exposed.sort()).toEqual([chatEnv.PORT, chatEnv.ADMIN_PORT].sort());
  });
});

describe("docker-compose.yml", () => {
  const compose = yamlFile("docker-compose.yml");
  const services = compose.services as Record<string, Any>;
  const chats = Object.keys(services).filter((s) => /^chat-\d+$/.test(s));

  it("runs Redis, three chat replicas and HAProxy, each with a health check", () => {
    expect(Object.keys(services).sort()).toEqual(["chat-1", "chat-2", "chat-3", "haproxy", "redis"]);
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck?.test, `${name}: healthcheck`).toBeDefined();
  });

  it("builds the chat image from the root Dockerfile and starts it with the image's command", () => {
    for (const name of chats) {
      const s = services[name];
      expect(s.build, name).toBe(".");
      expect(existsSync(repoPath("Dockerfile"))).toBe(true);
      expect(s.image).toBe("chat:dev");
      expect(s.command, `${name} must not override the image's command`).toBeUndefined();
      expect(s.entrypoint, `${name} must not override the image's entrypoint`).toBeUndefined();
      expect(s.read_only).toBe(true);
    }
  });

  it("configures each replica with the Kubernetes settings, and the server accepts them", () => {
    for (const name of chats) {
      const s = services[name];
      expect(s.env_file).toBe("k8s/base/chat.env");
      const env: Record<string, string> = { ...envFile(s.env_file), ...s.environment };
      for (const key of Object.keys(env)) expect(ENV_NAMES, `${name} sets ${key}`).toContain(key);
      expect(env.POD_NAME).toBe(name);
      expect(env.REDIS_URL).toBe("redis://redis:6379");
      const config = loadConfig(env);
      expect(config.SESSION_SECRET.length).toBeGreaterThanOrEqual(16);
      // docker stops with SIGTERM, then SIGKILL after stop_grace_period: it must cover the drain.
      expect(Number.parseInt(s.stop_grace_period, 10) * 1000).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
    }
  });

  it("starts in order: Redis healthy, then the replicas, then HAProxy", () => {
    for (const name of chats) expect(services[name].depends_on).toEqual({ redis: { condition: "service_healthy" } });
    expect(services.haproxy.depends_on).toEqual(
      Object.fromEntries(chats.map((c) => [c, { condition: "service_healthy" }])),
    );
  });

  it("runs Redis with the Kubernetes redis.conf (AOF on) and the same image", () => {
    const redis = services.redis;
    const mounts = (redis.volumes as string[]).map((v) => v.split(":"));
    const conf = mounts.find(([src]) => src?.endsWith("redis.conf"));
    expect(conf?.[0]).toBe("./k8s/base/redis.conf");
    expect(redis.command).toEqual(["redis-server", conf?.[1]]);
    expect(mounts.some(([src, dst]) => src === "redis-data" && dst === "/data")).toBe(true);
    const base = yamlFile("k8s", "base", "kustomization.yaml");
    expect(redis.image).toBe(`redis:${base.images.find((i: Any) => i.name === "redis").newTag}`);
  });

  it("mounts the HAProxy config from haproxy/ and publishes only on loopback", () => {
    const [src, dst] = (services.haproxy.volumes[0] as string).split(":");
    expect(src).toBe("./haproxy/haproxy.cfg");
    expect(dst).toBe("/usr/local/etc/haproxy/haproxy.cfg");
    expect(services.haproxy.ports).toEqual(["127.0.0.1:8080:8080"]);
    expect(services.haproxy.image).toMatch(/^haproxy:2\.6/);
  });
});

describe("haproxy/haproxy.cfg", () => {
  const cfg = read("haproxy", "haproxy.cfg");
  const lines = cfg.split("\n").map((l) => l.trim());
  const begin = lines.indexOf("# BEGIN servers");
  const end = lines.indexOf("# END servers");
  const directive = (prefix: string) => lines.find((l) => l.startsWith(prefix));
  const seconds = (v?: string) => {
    const m = v?.match(/^(\d+)(ms|s|m|h)?$/);
    if (!m) return Number.NaN;
    return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "ms"] ?? 0.001);
  };

  it("has one delimited block of server lines, one per compose replica, for the test rig to replace", () => {
    expect(lines.filter((l) => l === "# BEGIN servers")).toHaveLength(1);
    expect(lines.filter((l) => l === "# END servers")).toHaveLength(1);
    expect(begin).toBeLessThan(end);
    const servers = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith("server "));
    for (const [, i] of servers) expect(i > begin && i < end, `server line ${i + 1} is outside the block`).toBe(true);
    const compose = yamlFile("docker-compose.yml");
    const parsed = servers.map(([l]) => l.split(/\s+/));
    expect(parsed.map((w) => w[1])).toEqual(Object.keys(compose.services).filter((s) => s.startsWith("chat-")));
    for (const w of parsed) {
      expect(w[2]).toBe(`${w[1]}:${chatEnv.PORT}`);
      expect(w.slice(3)).toEqual(["cookie", w[1]]);
    }
  });

  it("pins sessions with the SERVERID cookie and retries refused handshakes elsewhere", () => {
    expect(directive("cookie ")).toMatch(new RegExp(`^cookie ${AFFINITY_COOKIE} insert indirect nocache\\b`));
    expect(lines).toContain("option redispatch 1");
    expect(lines).toContain("option persist");
    expect(directive("retry-on ")?.split(/\s+/)).toContain("503");
    expect(Number(directive("retries ")?.split(/\s+/)[1])).toBeGreaterThan(0);
    expect(lines).toContain("http-request disable-l7-retry unless METH_GET");
    expect(lines).toContain("http-check send meth GET uri /readyz");
    expect(directive("default-server ")).toMatch(/\bcheck\b.*\binit-addr last,libc,none\b/);
  });

  it("sends small WebSocket frames at once instead of letting the kernel hold them (Nagle)", () => {
    // Without it, messages through HAProxy arrived up to ~200 ms late at p99 (pnpm bench rollout
    // via the rig: steady p99 33–191 ms against 16–18 ms with it; see docs/performance.md).
    expect(lines).toContain("option http-no-delay");
  });

  it("keeps idle sockets and long-polls alive well past the Socket.IO heartbeat", () => {
    const timeout = (name: string) => seconds(directive(`timeout ${name} `)?.split(/\s+/)[2]);
    expect(timeout("tunnel")).toBeGreaterThanOrEqual(3600);
    for (const t of ["client", "server"])
      expect(timeout(t), `timeout ${t}`).toBeGreaterThanOrEqual(HEARTBEAT_FACTOR * heartbeatS);
  });

  const haproxy = which("haproxy");
  const check = (file: string) => spawnSync(haproxy ?? "haproxy", ["-c", "-f", file], { encoding: "utf8" });
  if (!haproxy) {
    console.warn("haproxy is not installed: skipping `haproxy -c` (Debian/Ubuntu: apt-get install haproxy)");
  }

  it.skipIf(!haproxy)("passes `haproxy -c` as compose uses it (only compose host names fail to resolve here)", () => {
    const result = check(repoPath("haproxy", "haproxy.cfg"));
    expect(result.status, result.stderr).toBe(0);
    const warnings = result.stderr.split("\n").filter((l) => l.includes("[WARNING]"));
    for (const w of warnings) expect(w).toMatch(/could not resolve address 'chat-\d'/);
  });

  it.skipIf(!haproxy)("passes `haproxy -c` without a warning once the rig puts its own servers in the block", () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-chat-haproxy-"));
    try {
      const rig = [
        ...lines.slice(0, begin + 1),
        "server s1 127.0.0.1:18081 cookie s1",
        "server s2 127.0.0.1:18082 cookie s2",
        ...lines.slice(end),
      ];
      const file = join(dir, "haproxy.cfg");
      writeFileSync(file, `${rig.join("\n")}\n`);
      const result = check(file);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain("[WARNING]");
      expect(result.stderr).not.toContain("[ALERT]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("skaffold.yaml", () => {
  const skaffold = yamlFile("skaffold.yaml");

  it("matches the published Skaffold schema for its apiVersion", () => {
    expect(skaffold.apiVersion).toBe("skaffold/v4beta14");
    const schema = JSON.parse(readFileSync(join(K8S_DIR, "test", "schemas", "skaffold-v4beta14.json"), "utf8"));
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(skaffold), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("builds the image the Deployment runs, from the root Dockerfile, without pushing (kind)", () => {
    const [artifact] = skaffold.build.artifacts;
    expect(artifact.image).toBe(podSpec.containers[0].image);
    expect(existsSync(repoPath(artifact.context ?? ".", artifact.docker.dockerfile))).toBe(true);
    expect(skaffold.build.local.push).toBe(false);
    expect(skaffold.deploy.kubectl).toBeDefined();
  });

  it("points every kustomize path (default and profiles) at an overlay", () => {
    const paths = [skaffold, ...skaffold.profiles].flatMap((c: Any) => c.manifests?.kustomize?.paths ?? []);
    expect(paths).toContain("k8s/overlays/kind");
    for (const p of paths) expect(existsSync(repoPath(p, "kustomization.yaml")), p).toBe(true);
    const overlays = new Set(paths.map((p: string) => p.split("/").at(-1)));
    expect(overlays).toEqual(new Set(["kind", "kind-ingress-nginx", "kind-gateway-api"]));
  });

  it("documents each profile with a comment just above it", () => {
    const text = read("skaffold.yaml").split("\n");
    for (const { name } of skaffold.profiles as Array<{ name: string }>) {
      const at = text.findIndex((l) => l.trim() === `- name: ${name}`);
      expect(text[at - 1]?.trim().startsWith("#"), `profile ${name} has no comment`).toBe(true);
    }
  });

  it("forwards ports that the kind overlay's Services and pods have; /metrics from the admin port", async () => {
    const kind = parseObjects(await kustomize(join(K8S_DIR, "overlays", "kind")), "kind");
    for (const f of skaffold.portForward) {
      const kindName = f.resourceType === "service" ? "Service" : "Deployment";
      const target = kind.find((o) => o.kind === kindName && o.metadata.name === f.resourceName) as Any;
      expect(target, `${kindName} ${f.resourceName}`).toBeDefined();
      expect(target.metadata.namespace).toBe(f.namespace);
      const ports =
        kindName === "Service"
          ? target.spec.ports.map((p: Any) => p.port)
          : target.spec.template.spec.containers.flatMap((c: Any) => c.ports.map((p: Any) => p.containerPort));
      expect(ports).toContain(f.port);
    }
    const admin = skaffold.portForward.find((f: Any) => f.port === Number(chatEnv.ADMIN_PORT));
    expect(admin?.resourceType).toBe("deployment");
    // The comment names /metrics next to the admin forward only, never next to the http one.
    const comment = read("skaffold.yaml")
      .split("\n")
      .filter((l) => l.includes("/metrics"));
    expect(comment.length).toBeGreaterThan(0);
    for (const l of comment) expect(l).toContain(`localhost:${admin?.localPort}`);
  });

  it("applies the namespace in a hook, outside what skaffold deletes on exit", () => {
    const hook = skaffold.deploy.kubectl.hooks.before.map((h: Any) => h.host.command.join(" ")).join("\n");
    expect(hook).toContain("apply -f k8s/kind/namespace.yaml");
    const [ns] = parseObjects(read("k8s", "kind", "namespace.yaml"), "namespace.yaml") as Any[];
    expect(ns.kind).toBe("Namespace");
    expect(ns.metadata.name).toBe(yamlFile("k8s", "overlays", "kind", "kustomization.yaml").namespace);
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});

describe("kind cluster and ingress controller settings", () => {
  const cluster = yamlFile("k8s", "kind", "cluster.yaml");
  const traefik = yamlFile("k8s", "kind", "traefik-values.yaml");
  const controlPlane = cluster.nodes.find((n: Any) => n.role === "control-plane");

  it("pins every node to one kind node image by digest", () => {
    const images = new Set(cluster.nodes.map((n: Any) => n.image));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
  });

  it("publishes 80/443 on loopback from the node labelled ingress-ready", () => {
    expect(cluster.kind).toBe("Cluster");
    expect(cluster.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    expect(controlPlane.labels).toEqual({ "ingress-ready": "true" });
    expect(controlPlane.extraPortMappings.map((m: Any) => [m.containerPort, m.hostPort, m.listenAddress])).toEqual([
      [80, 80, "127.0.0.1"],
      [443, 443, "127.0.0.1"],
    ]);
  });

  it("runs Traefik on that node, bound to those ports, with WebSocket-friendly timeouts", () => {
    expect(traefik.nodeSelector).toEqual(controlPlane.labels);
    expect([traefik.ports.web.hostPort, traefik.ports.websecure.hostPort]).toEqual([80, 443]);
    expect(traefik.updateStrategy.rollingUpdate).toEqual({ maxUnavailable: 1, maxSurge: 0 });
    for (const ep of ["web", "websecure"]) {
      const arg = (traefik.additionalArguments as string[]).find((a) =>
        a.startsWith(`--entryPoints.${ep}.transport.respondingTimeouts.readTimeout=`),
      );
      expect(arg, `readTimeout for ${ep}`).toBeDefined();
      expect(Number.parseInt(arg?.split("=")[1] ?? "", 10)).toBeGreaterThanOrEqual(HEARTBEAT_FACTOR * heartbeatS);
    }
  });

  it("pins the same controller versions in the docs as in the files", () => {
    const docs = read("docs", "deploy.md");
    const chart = read("k8s", "kind", "traefik-values.yaml").match(/--version (\S+)/)?.[1];
    expect(chart).toBeDefined();
    expect(docs).toContain(`traefik/traefik --version ${chart}`);
    expect(docs).toContain("kind create cluster --config k8s/kind/cluster.yaml");
    expect(docs).toContain("--values k8s/kind/traefik-values.yaml");
    expect(docs).toContain("kubectl apply -f k8s/kind/envoy-gatewayclass.yaml");
  });

  it("declares the GatewayClass that the gateway-api component uses", async () => {
    const [gc] = parseObjects(read("k8s", "kind", "envoy-gatewayclass.yaml"), "envoy-gatewayclass.yaml") as [K8sObject];
    expect(await schemaErrors(gc)).toEqual([]);
    expect(new FieldChecker([gc]).unknownFields(gc)).toEqual([]);
    const [gateway] = parseObjects(read("k8s", "components", "gateway-api", "gateway.yaml"), "gateway.yaml") as Any[];
    expect(gateway.spec.gatewayClassName).toBe(gc.metadata.name);
  });
});

describe("monitoring and autoscaling files", () => {
  const exported = serverMetricNames();

  it("graphs only metrics that the server exports", () => {
    const dashboard = JSON.parse(read("k8s", "components", "monitoring", "chat-dashboard.json"));
    const exprs: string[] = dashboard.panels.flatMap((p: Any) => p.targets.map((t: Any) => t.expr));
    const used = new Set(
      exprs.flatMap((e) => [...e.matchAll(/\bchat_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ""))),
    );
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of used) expect(exported, `${name} is not registered in server/src`).toContain(name);
    expect(exprs.join(" ")).toContain("process_resident_memory_bytes");
  });

  it("gives prometheus-adapter the Pods metric that the HPA asks for", () => {
    const rules = yamlFile("k8s", "components", "autoscaling-hpa", "prometheus-adapter-rules.yaml");
    const hpa = yamlFile("k8s", "components", "autoscaling-hpa", "chat-hpa.yaml");
    const wanted = hpa.spec.metrics.find((m: Any) => m.type === "Pods").pods.metric.name;
    expect(rules.rules.custom.map((r: Any) => r.name.as)).toContain(wanted);
    expect(exported).toContain(wanted);
  });
});

it("the repository root is where the tests think it is", () => {
  expect(existsSync(join(REPO_DIR, "pnpm-workspace.yaml"))).toBe(true);
});
