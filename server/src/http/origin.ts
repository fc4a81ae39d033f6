import type { IncomingMessage } from "node:http";

/**
 * Browsers send Origin on every WebSocket and cross-origin request, and WebSockets are not
 * protected by CORS, so the handshake itself checks it. Empty list = same origin only.
 * Requests without Origin (non-browser clients) are allowed: they cannot ride a user's cookies.
 */
export function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
