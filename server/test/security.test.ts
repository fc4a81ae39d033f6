import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";

describe("HTTP security", () => {
  let nodes: Node[];
  let url: string;
  beforeAll(async () => {
    nodes = await startNodes(1, { ALLOWED_ORIGINS: "https://chat.example", RATE_CONNECTIONS_PER_IP: "4" });
    url = (nodes[0] as Node).url;
  });
  afterAll(async () => {
    await stopNodes(nodes);
  });
  const handshake = (headers: Record<string, string> = {}) =>
    fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers });

  it("serves the client with a strict CSP that does not force TLS upgrades", async () => {
    const res = await fetch(`${url}/`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("refuses handshakes from origins outside ALLOWED_ORIGINS, with CORS for the allowed ones", async () => {
    expect((await handshake({ Origin: "https://evil.example" })).status).toBe(403);
    const allowed = await handshake({ Origin: "https://chat.example" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://chat.example");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    // Same origin (the page the server itself served) is always allowed.
    expect((await handshake({ Origin: url })).status).toBe(200);
    // A preflight (a long-polling POST with credentials) is answered with CORS and no body.
    const preflight = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, {
      method: "OPTIONS",
      headers: { Origin: "https://chat.example", "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://chat.example");
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("answers a reconnect storm from one address with 429 and Retry-After", async () => {
    const [fresh] = await startNodes(1, { RATE_CONNECTIONS_PER_IP: "4" });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        last = await fetch(`${fresh?.url}/socket.io/?EIO=4&transport=polling`);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await last?.json()).toMatchObject({ error: { code: "rate_limited" } });
    } finally {
      if (fresh) await stopNodes([fresh]);
    }
  });
});
