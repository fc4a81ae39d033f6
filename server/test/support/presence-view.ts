import type { PresenceChange, PresenceDelta, PresenceSnapshot, User } from "@chat/protocol";

/**
 * What a protocol-2 client does with presence (docs/protocol.md): start from a snapshot (the join
 * ack or `room:presence`), apply each change above it exactly once whatever order events of
 * different pods arrive in, and report a gap while a skipped version is missing.
 */
export class PresenceView {
  /** Every change up to this version is applied. */
  version = 0;
  readonly users = new Map<string, User>();
  /** Applied changes above `version` (another pod's event has not arrived yet). */
  private readonly ahead = new Map<number, { change: PresenceChange; joined: boolean }>();
  /** The version of the last change applied per user: an older change of that user is stale. */
  private readonly stamps = new Map<string, number>();

  reset(snapshot: Pick<PresenceSnapshot, "version" | "users">) {
    this.version = snapshot.version;
    this.users.clear();
    this.stamps.clear();
    for (const u of snapshot.users) this.users.set(u.id, u);
    for (const [v, { change, joined }] of this.ahead) {
      this.ahead.delete(v);
      if (v > snapshot.version) this.change(change, joined);
    }
  }

  /** Apply a delta; true while a version below its highest is still missing. */
  apply(delta: PresenceDelta): boolean {
    for (const c of delta.joined) this.change(c, true);
    for (const c of delta.left) this.change(c, false);
    return this.gap();
  }

  gap(): boolean {
    return this.ahead.size > 0;
  }

  private change(change: PresenceChange, joined: boolean) {
    if (change.version <= this.version || this.ahead.has(change.version)) return;
    if ((this.stamps.get(change.id) ?? 0) < change.version) {
      this.stamps.set(change.id, change.version);
      if (joined) this.users.set(change.id, { id: change.id, name: change.name });
      else this.users.delete(change.id);
    }
    this.ahead.set(change.version, { change, joined });
    while (this.ahead.has(this.version + 1)) this.ahead.delete(++this.version);
  }
}
