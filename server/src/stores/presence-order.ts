import type { User } from "@chat/protocol";

// One collator for every sort: String#localeCompare builds its ICU state per call.
const collator = new Intl.Collator("en");

/**
 * Sorted by name, so every pod shows the same list: what protocol-1 clients get. Protocol 2 gets
 * lists in no particular order (sorting a room of 1,000 on every join was a measurable share of
 * its cost); its clients key members by id and sort for display.
 */
export const sortUsers = (users: User[]): User[] =>
  users.sort((a, b) => collator.compare(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** Names compare equal when they look alike: "Ada", "ada" and "ａｄａ" are one name. */
export const nameKey = (name: string) => name.normalize("NFKC").toLowerCase();
