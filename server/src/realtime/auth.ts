import { ErrorCode, parseHandshakeAuth, type RefusalBody, type User } from "@chat/protocol";
import { SessionTokens } from "./session-token.js";
import { type ChatSocket, socketData } from "./types.js";

/** A middleware error whose `data` reaches the client's `connect_error` handler. */
export class Refusal extends Error {
  constructor(readonly data: RefusalBody) {
    super(data.message);
  }
}

/**
 * Handshake: a valid token keeps the user's id on any pod (its name may change); no token makes a
 * new user. Anything else is refused with a reason, before the socket exists. The socket's token
 * is issued with its `session` event (see createChatHandlers), so the socket never holds one.
 */
export function authenticate(tokens: SessionTokens) {
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
    socket.data = socketData(user, protocol ?? 1);
    next();
  };
}
