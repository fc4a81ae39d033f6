import type { CSSProperties } from "react";
import { useChat, useClient } from "./context.js";

const numbers = new Intl.NumberFormat();

/** 1234 → "1,234" in the reader's locale. */
export function formatCount(count: number): string {
  return numbers.format(count);
}

/**
 * Who is in the room right now (one entry per user, however many tabs they have open). In a
 * large room only a sample is loaded: the header shows the server's count, and the person can
 * load more names or start over (the sample may include people who have left).
 */
export function PresenceList({ room }: { room: string }) {
  const client = useClient();
  const users = useChat((s) => s.rooms[room]?.presence);
  const count = useChat((s) => s.rooms[room]?.presenceCount ?? 0);
  const partial = useChat((s) => s.rooms[room]?.presencePartial ?? false);
  const hasMore = useChat((s) => s.rooms[room]?.presenceHasMore ?? false);
  const loading = useChat((s) => s.rooms[room]?.presenceLoading ?? false);
  const error = useChat((s) => s.rooms[room]?.presenceError ?? null);
  const self = useChat((s) => s.user);
  const me = self?.id;
  const loaded = users ?? [];
  // A page of a large room is any users; the person reading it is in the room, so they are listed.
  const list = partial && self && !loaded.some((u) => u.id === self.id) ? [self, ...loaded] : loaded;
  return (
    <aside className="people" aria-labelledby="people-title" aria-busy={loading}>
      <div className="people-head">
        <h2 id="people-title" className="people-title">
          Here now{" "}
          <span className="people-count" data-testid="presence-count">
            {formatCount(partial ? count : list.length)} online
          </span>
        </h2>
        {partial && (
          <>
            <p id="people-note" className="people-note muted" data-testid="presence-note">
              Showing {formatCount(list.length)} of {formatCount(count)}
            </p>
            <div className="people-actions">
              {hasMore && (
                <button
                  type="button"
                  className="secondary compact-button people-action"
                  aria-describedby="people-note"
                  disabled={loading}
                  onClick={() => void client.loadMorePresence(room)}
                >
                  Show more
                </button>
              )}
              <button
                type="button"
                className="secondary compact-button people-action"
                aria-label="Reload the member list"
                disabled={loading}
                onClick={() => void client.reloadPresence(room)}
              >
                Reload
              </button>
            </div>
          </>
        )}
        {error && (
          <p className="people-error" role="status">
            {error}
          </p>
        )}
      </div>
      <ul data-testid="presence-list" className="people-list" aria-labelledby="people-title">
        {list.map((u) => (
          <li key={u.id} data-testid="presence-user" data-user-id={u.id} className="person">
            <Avatar name={u.name} />
            <span className="person-name">{u.name}</span>
            {u.id === me && <span className="muted you">(you)</span>}
          </li>
        ))}
      </ul>
    </aside>
  );
}

export function Avatar({ name }: { name: string }) {
  const initial = Array.from(name.trim())[0]?.toUpperCase() ?? "?";
  return (
    <span className="avatar" style={{ "--hue": hue(name) } as CSSProperties} aria-hidden="true">
      {initial}
    </span>
  );
}

/** A stable colour per name. */
function hue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + (ch.codePointAt(0) ?? 0)) % 360;
  return h;
}
