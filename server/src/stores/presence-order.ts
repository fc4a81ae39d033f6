import type { User } from "@chat/protocol";

// One collator for every sort: String#localeCompare builds its ICU state per call, which made
// sorting a room of 1,000 cost milliseconds on every join.
const collator = new Intl.Collator("en");

/** One entry per user id (a user may have several tabs), sorted by name so every pod shows the same list. */
export function distinctUsers(users: Iterable<User>): User[] {
  const byId = new Map<string, User>();
  for (const u of users) if (!byId.has(u.id)) byId.set(u.id, u);
  return [...byId.values()].sort(
    (a, b) => collator.compare(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Names compare equal when they look alike: "Ada", "ada" and "ａｄａ" are one name. */
export const nameKey = (name: string) => name.normalize("NFKC").toLowerCase();
