import type { ConnectionStatus } from "./state.js";

/**
 * Where the client's connection stands. Exactly one at a time; every change goes through
 * `ConnectionMachine.to`, which refuses the transitions the table below does not list.
 *
 * - `idle`: not started, stopped, or no name chosen yet.
 * - `connecting`: the first handshake of this client is under way (or being retried).
 * - `connected`: a socket with a session is in use.
 * - `handing-over`: still connected, while a second socket is prepared to replace the first
 *   (the pod is draining, or a new name needs a new handshake): make-before-break.
 * - `reconnecting`: the connection in use was lost; getting a new one.
 * - `offline`: the device reports no network (sockets keep trying underneath).
 * - `halted`: the server refused us for a reason only the user can fix (e.g. the name is taken).
 */
export type ConnectionState =
  | "idle"
  | "connecting"
  | "connected"
  | "handing-over"
  | "reconnecting"
  | "offline"
  | "halted";

/** The legal transitions: from -> the states it may move to. */
export const connectionTransitions: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  idle: ["connecting", "reconnecting", "offline"],
  connecting: ["connected", "offline", "halted", "idle"],
  connected: ["handing-over", "reconnecting", "offline", "halted", "idle"],
  "handing-over": ["connected", "reconnecting", "offline", "halted", "idle"],
  reconnecting: ["connected", "offline", "halted", "idle"],
  offline: ["connecting", "connected", "handing-over", "reconnecting", "halted", "idle"],
  halted: ["connecting", "reconnecting", "offline", "idle"],
};

export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return connectionTransitions[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: ConnectionState,
    readonly to: ConnectionState,
  ) {
    super(`illegal connection transition ${from} -> ${to}`);
  }
}

/** What the UI shows, derived from the state alone. */
export function statusOf(state: ConnectionState): ConnectionStatus {
  switch (state) {
    case "connected":
    case "handing-over":
      return "connected";
    case "connecting":
    case "reconnecting":
      return "reconnecting";
    default:
      return "offline";
  }
}

export type TransitionListener = (from: ConnectionState, to: ConnectionState) => void;

/**
 * The one place the connection state changes. An illegal transition is a bug in the client:
 * it is refused (the state stays) and reported to `onIllegal`, which throws by default; the
 * browser build passes a handler that logs instead, so a bug cannot break a live socket.
 */
export class ConnectionMachine {
  private current: ConnectionState = "idle";

  constructor(
    private readonly onChange: TransitionListener,
    private readonly onIllegal: (error: IllegalTransitionError) => void = (error) => {
      throw error;
    },
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** Move to `next`; staying put is a no-op. Returns whether the state changed. */
  to(next: ConnectionState): boolean {
    const from = this.current;
    if (next === from) return false;
    if (!canTransition(from, next)) {
      this.onIllegal(new IllegalTransitionError(from, next));
      return false;
    }
    this.current = next;
    this.onChange(from, next);
    return true;
  }
}
