import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Express } from "express";
import helmet from "helmet";
import type { RedisMode } from "../config.js";
import type { Lifecycle } from "../lifecycle/lifecycle.js";
import type { Metrics } from "./metrics.js";

/** Who answers a probe: the pod, and how it keeps its state (embedded, standalone, cluster, sentinel). */
export interface Identity {
  pod: string;
  mode: RedisMode;
  /** Replicas that confirm each message before its ack (REDIS_MIN_REPLICAS_ACK as resolved). */
  replicasAck: () => number;
}

const probes = (app: Express, lifecycle: Lifecycle, { pod, mode, replicasAck }: Identity) => {
  // Liveness never looks at dependencies: restarting a pod does not bring Redis back.
  app.get("/livez", (_req, res) => {
    res.json({ live: true, pod });
  });
  app.get("/readyz", (_req, res) => {
    const r = lifecycle.readiness();
    res.status(r.ready ? 200 : 503).json({ ...r, mode, replicasAck: replicasAck(), pod });
  });
};

/** The public app: probes and the built client. */
export function publicRoutes(lifecycle: Lifecycle, identity: Identity, clientDir: string): Express {
  const { pod } = identity;
  const app = express();
  app.disable("x-powered-by");
  probes(app, lifecycle, identity);
  // The client needs nothing from elsewhere: scripts, styles and sockets are same-origin only.
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", "data:"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          // helmet's default would make browsers rewrite ws:// to wss://, breaking plain-http
          // deployments (kind, a LAN); TLS is the ingress' job and HSTS its signal.
          upgradeInsecureRequests: null,
        },
      },
      // Same-origin chat: no cross-origin embedding of its resources either.
      crossOriginResourcePolicy: { policy: "same-origin" },
    }),
  );
  if (existsSync(join(clientDir, "index.html"))) {
    // Vite fingerprints assets, so they can be cached for good; index.html must not be.
    app.use("/assets", express.static(join(clientDir, "assets"), { immutable: true, maxAge: "1y" }));
    app.use(express.static(clientDir, { index: "index.html", maxAge: 0 }));
  } else {
    app.get("/", (_req, res) => {
      res.type("text/plain").send(`chat server on ${pod}: the client is not built (run 'pnpm build').\n`);
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: { code: "not_found", message: "no such route" } });
  });
  return app;
}

/**
 * The admin app, on ADMIN_PORT, which no Service or Ingress exposes: metrics, and the drain hook
 * that the preStop httpGet calls. Anyone reaching /drain can take a pod out, so it stays private.
 */
export function adminRoutes(
  lifecycle: Lifecycle,
  metrics: Metrics,
  identity: Identity,
  drain: (delayMs: number) => Promise<{ deadline: number }>,
): Express {
  const app = express();
  app.disable("x-powered-by");
  probes(app, lifecycle, identity);
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.all("/drain", async (req, res) => {
    if (req.method !== "GET" && req.method !== "POST") {
      res
        .status(405)
        .set("Allow", "GET, POST")
        .json({ error: { code: "method_not_allowed", message: "use GET or POST" } });
      return;
    }
    const raw = req.query.delay_ms ?? "0";
    const delayMs = typeof raw === "string" && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(delayMs <= 300_000)) {
      res
        .status(400)
        .json({ error: { code: "invalid_payload", message: "delay_ms: an integer of ms, at most 300000" } });
      return;
    }
    const { deadline } = await drain(delayMs);
    res.status(202).json({ draining: true, pod: identity.pod, deadline });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: { code: "not_found", message: "no such route" } });
  });
  return app;
}
