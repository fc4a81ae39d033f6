import { type ErrorBody, ErrorCode } from "@chat/protocol";

/** Turn a server error into a sentence for the user; the server's own message is kept where it is specific. */
export function describeError(error: ErrorBody): string {
  switch (error.code) {
    case ErrorCode.InvalidPayload:
      return `Rejected by the server: ${error.message}`;
    case ErrorCode.NotInRoom:
      return "Not in this room any more; rejoining.";
    case ErrorCode.RateLimited:
      return `Sending too fast; retrying in ${Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000))} s.`;
    case ErrorCode.Unavailable:
      return "The server is temporarily unavailable; retrying.";
    case ErrorCode.ServerFull:
      return "All servers are full; retrying.";
    case ErrorCode.Draining:
      return "The server is restarting; moving to another one.";
    case ErrorCode.Unauthorized:
      return "Your session expired; signing in again.";
    case ErrorCode.NameTaken:
      return "That name is taken; pick another one.";
    case ErrorCode.TooManyRooms:
      return "You are in too many rooms; leave one first.";
    case ErrorCode.Internal:
      return `Something went wrong on the server: ${error.message}`;
    default:
      return error.message || "Unknown error.";
  }
}

/** Read `{ code, message }` from a connect_error's `data`, if the server sent one. */
export function refusalOf(data: unknown): ErrorBody | null {
  if (typeof data !== "object" || data === null) return null;
  const { code, message } = data as { code?: unknown; message?: unknown };
  if (typeof code !== "string") return null;
  return { code: code as ErrorBody["code"], message: typeof message === "string" ? message : "" };
}
