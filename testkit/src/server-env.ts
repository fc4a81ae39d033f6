import type { ServerEnv } from "@chat/server/config";

export type { ServerEnv };

/**
 * The abuse limits lifted out of the way for loopback traffic: every test, rig and bench client
 * shares 127.0.0.1 and a few user names, so hundreds of them would otherwise be one "flooding
 * address". The limiter still runs on every send, join and handshake; only the thresholds move.
 * Tests of the limits themselves pass their own values.
 */
export function loopbackLimits(): ServerEnv {
  return {
    RATE_MESSAGES_PER_USER: "100000000",
    RATE_MESSAGES_PER_IP: "100000000",
    RATE_JOINS_PER_USER: "100000000",
    RATE_CONNECTIONS_PER_IP: "100000000",
  };
}
