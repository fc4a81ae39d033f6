import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";
import { Limits, type User } from "@chat/protocol";

/**
 * Session tokens: `v1.<payload>.<hmac>` with base64url parts. The payload binds a user id to a
 * name and an expiry; any pod holding SESSION_SECRET can verify it, so identity survives a move.
 */
interface Payload {
  sub: string;
  name: string;
  iat: number;
  exp: number;
}

const ID_BYTES = 9;
// Random bytes for user ids, drawn 256 ids at a time: one randomBytes(9) per handshake cost more
// than the rest of the id.
const idPool = Buffer.alloc(ID_BYTES * 256);
let idOffset = idPool.length;

export type VerifyResult = { ok: true; user: User; expiresAt: number } | { ok: false; reason: string };

export class SessionTokens {
  constructor(
    private readonly secret: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  static newUserId(): string {
    if (idOffset === idPool.length) {
      randomFillSync(idPool);
      idOffset = 0;
    }
    const id = `u_${idPool.toString("base64url", idOffset, idOffset + ID_BYTES)}`;
    idOffset += ID_BYTES;
    return id;
  }

  issue(user: User): string {
    const iat = this.now();
    const payload: Payload = { sub: user.id, name: user.name, iat, exp: iat + this.ttlMs };
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `v1.${body}.${this.sign(body)}`;
  }

  verify(token: string): VerifyResult {
    if (token.length > Limits.tokenLength) return { ok: false, reason: "session token is too long" };
    const [version, body, signature, ...rest] = token.split(".");
    if (version !== "v1" || !body || !signature || rest.length > 0) {
      return { ok: false, reason: "session token is malformed" };
    }
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "session token signature is invalid" };
    }
    let payload: Partial<Payload>;
    try {
      payload = JSON.parse(Buffer.from(body, "base64url").toString()) as Partial<Payload>;
    } catch {
      return { ok: false, reason: "session token is malformed" };
    }
    const { sub, name, exp } = payload;
    if (typeof sub !== "string" || typeof name !== "string" || typeof exp !== "number") {
      return { ok: false, reason: "session token is malformed" };
    }
    if (exp <= this.now()) return { ok: false, reason: "session token has expired" };
    return { ok: true, user: { id: sub, name }, expiresAt: exp };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.secret).update(body).digest("base64url");
  }
}
