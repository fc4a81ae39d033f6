import { useEffect } from "react";
import { useAttention, useNotificationPermission } from "./attention.js";
import { ConnectionStatus } from "./ConnectionStatus.js";
import { useChat, useClient } from "./context.js";
import { NameForm } from "./NameForm.js";
import { RoomList } from "./RoomList.js";
import { RoomView } from "./RoomView.js";

/** `#/room/general` -> "general". */
function roomFromHash(hash: string): string | null {
  const match = /^#\/room\/([^/?#]+)/.exec(hash);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** Keeps the address bar and the open room in step: a link joins, switching rooms updates the link. */
function useHashRoute(): void {
  const client = useClient();
  const activeRoom = useChat((s) => s.activeRoom);

  useEffect(() => {
    const follow = () => {
      const room = roomFromHash(window.location.hash);
      if (room) client.joinRoom(room);
    };
    follow();
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, [client]);

  useEffect(() => {
    const hash = activeRoom ? `#/room/${encodeURIComponent(activeRoom)}` : "";
    if (window.location.hash !== hash) {
      window.history.replaceState(null, "", hash || window.location.pathname + window.location.search);
    }
  }, [activeRoom]);
}

export function App() {
  const name = useChat((s) => s.name);
  const user = useChat((s) => s.user);
  const pendingRoom = useChat((s) => s.activeRoom);
  const notifications = useNotificationPermission();
  useHashRoute();
  useAttention();

  if (!name) {
    return (
      <main className="welcome-screen">
        <div className="welcome-card">
          <h1>Welcome to Chat</h1>
          <p className="muted">
            {pendingRoom ? (
              <>
                Pick a display name to join <strong>#{pendingRoom}</strong>.
              </>
            ) : (
              "Pick a display name to start chatting."
            )}
          </p>
          <NameForm variant="welcome" />
        </div>
      </main>
    );
  }

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <svg aria-hidden="true" viewBox="0 0 32 32" width="22" height="22">
            <rect width="32" height="32" rx="8" fill="currentColor" />
            <path
              d="M9 11.5A3.5 3.5 0 0 1 12.5 8h7A3.5 3.5 0 0 1 23 11.5v5a3.5 3.5 0 0 1-3.5 3.5H15l-4.2 3.4c-.5.4-1.3 0-1.3-.6V20.3A3.5 3.5 0 0 1 9 16.5z"
              fill="var(--bg)"
            />
          </svg>
          <span>Chat</span>
        </div>
        <ConnectionStatus />
        {notifications.ask && (
          <button type="button" className="link-button notify-button" onClick={notifications.ask}>
            Enable notifications
          </button>
        )}
        <NameForm variant="compact" key={user?.name ?? name} />
      </header>
      <RoomList />
      <RoomView />
    </div>
  );
}
