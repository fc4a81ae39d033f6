import type { PresenceDelta, PresenceSnapshot, User } from "@chat/protocol";
import type { Timer } from "./timing.js";

interface Change {
  readonly version: number;
  readonly user: User;
  readonly joined: boolean;
}

export interface RoomPresenceDeps {
  /** How long a skipped version may take to arrive (another pod's event) before the list is fetched. */
  graceMs: number;
  /** The member list changed. */
  changed(users: readonly User[]): void;
  /** Versions went missing: ask the server for the full list (`room:presence`), answering null when that failed. */
  fetch(): Promise<PresenceSnapshot | null>;
}

const byName = (a: User, b: User) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

/**
 * One room's member list under protocol 2: a snapshot at a version (join answer or
 * `room:presence`) plus the deltas after it. Versions are gapless per room over all pods, but
 * each pod announces its own changes, so events may skip versions another pod's event carries
 * and may arrive in either order. Changes are applied in version order; a change at or below the
 * snapshot is stale. A version still missing after `graceMs` costs one fetch of the full list.
 * Protocol 1 servers send full lists instead (`replace`).
 */
export class RoomPresence {
  private base: Map<string, User> = new Map();
  /** The version `base` reflects; null while only protocol 1 lists have been seen. */
  private version: number | null = null;
  /** Changes above `version`, by version (some may be missing). */
  private readonly changes = new Map<number, Change>();
  private gapTimer: Timer | null = null;
  private fetching = false;

  constructor(private readonly deps: RoomPresenceDeps) {}

  /** A protocol 1 `presence` list, or a join answer without a version: it is the whole truth. */
  replace(users: readonly User[]): void {
    this.version = null;
    this.changes.clear();
    this.setBase(users);
    this.publish();
  }

  /** A full list at `version` (join answer, `room:presence`). An older one than what we hold is ignored. */
  snapshot(users: readonly User[], version: number): void {
    if (this.version !== null && version < this.version) return;
    this.version = version;
    this.setBase(users);
    for (const v of this.changes.keys()) if (v <= version) this.changes.delete(v);
    this.fold();
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
    this.fold();
    this.publish();
  }

  /** Skipped versions right now (for tests and the status of a fetch). */
  get missing(): boolean {
    return this.changes.size > 0;
  }

  dispose(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
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

  private async fill(): Promise<void> {
    this.gapTimer = null;
    if (this.changes.size === 0 || this.fetching) return;
    this.fetching = true;
    const snapshot = await this.deps.fetch().finally(() => {
      this.fetching = false;
    });
    if (snapshot) this.snapshot(snapshot.users, snapshot.version);
    // Failed (or the answer was older than what arrived meanwhile): try again after another grace.
    else if (this.changes.size > 0) this.gapTimer ??= setTimeout(() => this.fill(), this.deps.graceMs);
  }

  /** The members: the snapshot with the changes beyond a gap applied in version order too. */
  private publish(): void {
    const members = new Map(this.base);
    for (const v of [...this.changes.keys()].sort((a, b) => a - b)) this.apply(members, this.changes.get(v) as Change);
    this.deps.changed([...members.values()].sort(byName));
  }
}
