import type { User } from "@chat/protocol";

/** One entry per user id (a user may have several tabs), sorted by name so every pod shows the same list. */
export function distinctUsers(users: Iterable<User>): User[] {
  const byId = new Map<string, User>();
  for (const u of users) if (!byId.has(u.id)) byId.set(u.id, u);
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Names compare equal when they look alike: "Ada", "ada" and "ａｄａ" are one name. */
export const nameKey = (name: string) => name.normalize("NFKC").toLowerCase();
