import { ErrorCode, parseHandshakeAuth, type RefusalBody, type User } from "@chat/protocol";
import { clientIp } from "./rate-limits.js";
import { SessionTokens } from "./session-token.js";
import type { ChatSocket } from "./types.js";

/** A middleware error whose `data` reaches the client's `connect_error` handler. */
export class Refusal extends Error {
  constructor(readonly data: RefusalBody) {
    super(data.message);
  }
}

/**
 * Handshake: a valid token keeps the user's id on any pod (its name may change); no token makes a
 * new user. Anything else is refused with a reason, before the socket exists.
 */
export function authenticate(tokens: SessionTokens, trustProxyHops: number) {
  return (socket: ChatSocket, next: (err?: Error) => void) => {
    const parsed = parseHandshakeAuth(socket.handshake.auth ?? {});
    if (!parsed.ok) return next(new Refusal(parsed.error));
    const { name, token, protocol } = parsed.data;
    let user: User;
    if (token !== undefined) {
      const verified = tokens.verify(token);
      if (!verified.ok) return next(new Refusal({ code: ErrorCode.Unauthorized, message: verified.reason }));
      user = { id: verified.user.id, name: name ?? verified.user.name };
    } else {
      user = { id: SessionTokens.newUserId(), name: name ?? `guest-${Math.random().toString(36).slice(2, 6)}` };
    }
    socket.data.user = user;
    socket.data.protocol = protocol ?? 1;
    socket.data.ip = clientIp(socket.request, trustProxyHops);
    socket.data.token = tokens.issue(user);
    next();
  };
}
