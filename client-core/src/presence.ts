import type { PresenceCount, PresenceDelta, PresenceSnapshot, User } from "@chat/protocol";
import type { Timer } from "./timing.js";

interface Change {
  readonly version: number;
  readonly user: User;
  readonly joined: boolean;
}

/** What the UI shows of a room's members. */
export interface PresenceView {
  /** Sorted by name: every member, or (when `partial`) the ones loaded so far. */
  readonly users: readonly User[];
  /** The room's number of users: the server's count when `partial`, else `users.length`. */
  readonly count: number;
  /** The room is large: `users` is a sample that may be stale (protocol 3). */
  readonly partial: boolean;
  /** More pages can be loaded (`loadMore`). */
  readonly hasMore: boolean;
  /** A page is on its way. */
  readonly loading: boolean;
  /** Why the last page request failed; cleared by the next one. */
  readonly error: string | null;
}

export interface RoomPresenceDeps {
  /** How long a skipped version may take to arrive (another pod's event) before the list is fetched. */
  graceMs: number;
  /** What the UI shows changed. */
  changed(view: PresenceView): void;
  /**
   * Ask the server for the list (`room:presence`): the full list or a large room's first page
   * without a cursor, the next page of a walk with one. Null when that failed.
   */
  fetch(cursor?: string): Promise<PresenceSnapshot | null>;
}

/**
 * A large room's members as far as they are loaded. `cursor`: undefined while no page walk has
 * begun (the sample came from a full list), a string to continue one, null once it has ended.
 */
interface Paged {
  readonly sample: Map<string, User>;
  count: number;
  cursor: string | null | undefined;
}

const byName = (a: User, b: User) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

const LOAD_FAILED = "Could not load the member list. Try again.";

/**
 * One room's member list. Protocol 2 (full mode): a snapshot at a version (join answer or
 * `room:presence`) plus the deltas after it. Versions are gapless per room over all pods, but
 * each pod announces its own changes, so events may skip versions another pod's event carries
 * and may arrive in either order. Changes are applied in version order; a change at or below the
 * snapshot is stale. A version still missing after `graceMs` costs one fetch of the full list.
 * Protocol 1 servers send full lists instead (`replace`).
 *
 * Protocol 3 adds paged mode for large rooms: a count (the highest version's wins) and a sample
 * of users loaded page by page. A delta means the room is no longer large: the full list is
 * fetched at once and full mode resumes from it. A count in full mode keeps the list as a sample.
 */
export class RoomPresence {
  private base: Map<string, User> = new Map();
  /** The version `base` (or in paged mode the count) reflects; null while only protocol 1 lists have been seen. */
  private version: number | null = null;
  /** Changes above `version`, by version (some may be missing). */
  private readonly changes = new Map<number, Change>();
  private gapTimer: Timer | null = null;
  private fetching = false;
  private paged: Paged | null = null;
  /** A page requested by the user (`loadMore`, `reload`) is on its way. */
  private loading = false;
  private error: string | null = null;

  constructor(private readonly deps: RoomPresenceDeps) {}

  /** A protocol 1 `presence` list, or a join answer without a version: it is the whole truth. */
  replace(users: readonly User[]): void {
    this.version = null;
    this.paged = null;
    this.changes.clear();
    this.setBase(users);
    this.publish();
  }

  /** A full list at `version` (join answer, `room:presence`). An older one than what we hold is ignored. */
  snapshot(users: readonly User[], version: number): void {
    if (this.version !== null && version < this.version) return;
    this.version = version;
    this.paged = null;
    this.error = null;
    this.setBase(users);
    for (const v of this.changes.keys()) if (v <= version) this.changes.delete(v);
    this.fold();
    this.publish();
  }

  /**
   * A large room's first page at `version` (a join answer with `presenceNext`, or `room:presence`
   * without a cursor): it replaces what we hold, since the old sample may be stale.
   */
  page(users: readonly User[], version: number, count: number, next: string | null): void {
    if (this.version !== null && version < this.version) return;
    this.version = version;
    this.changes.clear();
    this.dispose();
    this.paged = { sample: new Map(users.map((u) => [u.id, u])), count, cursor: next };
    this.error = null;
    this.publish();
  }

  /** A join answer or a `room:presence` answer without a cursor: a full list, or a large room's first page. */
  answer(snapshot: PresenceSnapshot): void {
    if (snapshot.next == null) this.snapshot(snapshot.users, snapshot.version);
    else this.page(snapshot.users, snapshot.version, snapshot.count ?? snapshot.users.length, snapshot.next);
  }

  /** `presence:count`: the room is large. Events of two pods may arrive in either order: the highest version wins. */
  count(event: PresenceCount): void {
    if (this.version === null || event.version <= this.version) return; // Stale, or no snapshot yet.
    this.version = event.version;
    if (this.paged) {
      this.paged.count = event.count;
      for (const v of this.changes.keys()) if (v <= event.version) this.changes.delete(v);
    } else {
      // The list we hold stays as a sample; a walk from the start can add to it.
      this.paged = { sample: this.members(), count: event.count, cursor: undefined };
      this.changes.clear();
      this.dispose();
    }
    this.publish();
  }

  delta(delta: PresenceDelta): void {
    if (this.version === null) return; // No snapshot yet: the join answer brings the list.
    let fresh = false;
    for (const [list, joined] of [
      [delta.joined, true],
      [delta.left, false],
    ] as const) {
      for (const { version, id, name } of list) {
        if (version <= this.version || this.changes.has(version)) continue; // Stale, or seen on the other socket.
        this.changes.set(version, { version, user: { id, name }, joined });
        fresh = true;
      }
    }
    if (!fresh) return;
    if (this.paged) {
      // The room is no longer large: its full list replaces the sample, and the changes that
      // arrive meanwhile are applied on top of it.
      void this.refresh();
      return;
    }
    this.fold();
    this.publish();
  }

  /** The next page of a large room's walk (or the first one, when the sample came from a full list). */
  async loadMore(): Promise<void> {
    const paged = this.paged;
    if (!paged || this.loading || !this.hasMore(paged)) return;
    const cursor = paged.cursor ?? undefined;
    const result = await this.request(cursor);
    if (!result || this.paged !== paged) return; // Failed, or replaced meanwhile (a rejoin's page).
    for (const u of result.users) paged.sample.set(u.id, u);
    paged.cursor = result.next ?? null;
    if (result.count !== undefined && this.version !== null && result.version > this.version) {
      this.version = result.version;
      paged.count = result.count;
    }
    this.publish();
  }

  /** Start the walk over: the sample may hold users who have left. */
  async reload(): Promise<void> {
    if (this.loading) return;
    const result = await this.request(undefined);
    if (result) this.answer(result);
  }

  /** Skipped versions right now (for tests and the status of a fetch). */
  get missing(): boolean {
    return this.changes.size > 0;
  }

  dispose(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }

  private hasMore(paged: Paged): boolean {
    return paged.cursor === undefined ? paged.sample.size < paged.count : paged.cursor !== null;
  }

  /** A page the user asked for: one at a time, failures shown. */
  private async request(cursor: string | undefined): Promise<PresenceSnapshot | null> {
    this.loading = true;
    this.error = null;
    this.publish();
    const result = await this.deps.fetch(cursor);
    this.loading = false;
    if (!result) this.error = LOAD_FAILED;
    this.publish();
    return result;
  }

  private setBase(users: readonly User[]): void {
    this.base = new Map(users.map((u) => [u.id, u]));
  }

  /** Move every change that directly follows the snapshot into it; what stays waits for a missing version. */
  private fold(): void {
    if (this.version === null) return;
    for (let next = this.changes.get(this.version + 1); next; next = this.changes.get(this.version + 1)) {
      this.apply(this.base, next);
      this.changes.delete(next.version);
      this.version = next.version;
    }
    if (this.changes.size === 0) this.dispose();
    else this.gapTimer ??= setTimeout(() => this.fill(), this.deps.graceMs);
  }

  private apply(members: Map<string, User>, change: Change): void {
    if (change.joined) members.set(change.user.id, change.user);
    else members.delete(change.user.id);
  }

  /** A skipped version did not arrive within the grace period. */
  private fill(): void {
    this.gapTimer = null;
    if (this.changes.size > 0) void this.refresh();
  }

  /** Fetch the list without a cursor; after a failure try again after another grace. */
  private async refresh(): Promise<void> {
    if (this.fetching) return;
    this.fetching = true;
    const snapshot = await this.deps.fetch().finally(() => {
      this.fetching = false;
    });
    if (snapshot) this.answer(snapshot);
    // Failed (or the answer was older than what arrived meanwhile): try again after another grace.
    if (this.changes.size > 0) this.gapTimer ??= setTimeout(() => this.fill(), this.deps.graceMs);
  }

  /** The full list: the snapshot with the changes beyond a gap applied in version order too. */
  private members(): Map<string, User> {
    const members = new Map(this.base);
    for (const v of [...this.changes.keys()].sort((a, b) => a - b)) this.apply(members, this.changes.get(v) as Change);
    return members;
  }

  private publish(): void {
    const { paged, loading, error } = this;
    if (paged) {
      const users = [...paged.sample.values()].sort(byName);
      this.deps.changed({ users, count: paged.count, partial: true, hasMore: this.hasMore(paged), loading, error });
      return;
    }
    const users = [...this.members().values()].sort(byName);
    this.deps.changed({ users, count: users.length, partial: false, hasMore: false, loading, error });
  }
}
