import type { CSSProperties } from "react";
import { useChat } from "./context.js";

/** Who is in the room right now (one entry per user, however many tabs they have open). */
export function PresenceList({ room }: { room: string }) {
  const users = useChat((s) => s.rooms[room]?.presence);
  const me = useChat((s) => s.user?.id);
  const list = users ?? [];
  return (
    <aside className="people" aria-labelledby="people-title">
      <h2 id="people-title" className="people-title">
        Here now <span className="muted">({list.length})</span>
      </h2>
      <ul data-testid="presence-list" className="people-list">
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
