import { Limits, type Session, type SessionLimits } from "@chat/protocol";

/** The limits a client works with: the session's, or the protocol's own until a server has said. */
export type ClientLimits = Readonly<SessionLimits>;

/** Protocol 1 servers send no limits: the protocol's bounds are all a client can know. */
export const protocolLimits: ClientLimits = {
  maxTextLength: Limits.textLength,
  maxRoomsPerSocket: Number.POSITIVE_INFINITY,
  messagesPerWindow: Number.POSITIVE_INFINITY,
  windowMs: 0,
};

export function limitsOf(session: Session | null | undefined): ClientLimits {
  const limits = session?.limits;
  if (!limits) return protocolLimits;
  // A server cannot raise the protocol's bound: a longer text would fail validation elsewhere.
  return { ...limits, maxTextLength: Math.min(limits.maxTextLength, Limits.textLength) };
}
