import type { ErrorCode } from "@chat/protocol";

/** A validation failure in words: the schemas' own messages, except for the generic length ones. */
export function explain(
  error: { issues: readonly { code: string; message: string }[] },
  empty: string,
  long: string,
): string {
  const issue = error.issues[0];
  if (!issue || issue.code === "too_small") return empty;
  return issue.code === "too_big" ? long : issue.message;
}

/** "  #General Chat " -> "general-chat". */
export function normalizeRoomName(input: string): string {
  return input.trim().replace(/^#/, "").trim().toLowerCase().replace(/\s+/g, "-");
}

/** Why the client refused an action before sending anything; `ErrorCode`s are the server's. */
export type RefusalCode = "blank" | "too_long" | "not_joined" | "offline" | ErrorCode;

/** A refused send, edit or delete: nothing was queued or sent (or the server said no). */
export interface Refusal {
  readonly code: RefusalCode;
  /** A sentence for the user. */
  readonly message: string;
}

/** A message text the server would accept: trimmed, not blank, within `maxLength`; or why not. */
export function checkText(input: string, maxLength: number): { text: string } | Refusal {
  const text = input.trim();
  if (text.length === 0) return { code: "blank", message: "Type a message first." };
  if (text.length > maxLength) {
    const over = text.length - maxLength;
    return {
      code: "too_long",
      message: `Too long: ${over} ${over === 1 ? "character" : "characters"} over the limit of ${maxLength}.`,
    };
  }
  return { text };
}
