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
