import { Composer } from "./Composer.js";
import { useChat, useClient } from "./context.js";
import { ErrorBanner } from "./ErrorBanner.js";
import { MessageList } from "./MessageList.js";
import { PresenceList } from "./PresenceList.js";
import { TypingIndicator } from "./TypingIndicator.js";

/** The open room: history, live messages, who is here, who is typing, and the composer. */
export function RoomView() {
  const room = useChat((s) => s.activeRoom);

  if (!room) {
    return (
      <main className="room empty-room" id="main">
        <ErrorBanner />
        <EmptyState />
      </main>
    );
  }

  return (
    <>
      <main className="room" id="main" aria-labelledby="room-title">
        <ErrorBanner />
        <header className="room-header">
          <h1 id="room-title">
            <span className="room-hash" aria-hidden="true">
              #
            </span>
            {room}
          </h1>
          <PresenceCount room={room} />
        </header>
        <RoomNotices room={room} />
        <MessageList room={room} key={`messages:${room}`} />
        <TypingIndicator room={room} />
        <Composer room={room} key={`composer:${room}`} />
      </main>
      <PresenceList room={room} />
    </>
  );
}

function PresenceCount({ room }: { room: string }) {
  const count = useChat((s) => s.rooms[room]?.presence.length ?? 0);
  return (
    <span className="muted presence-count">
      {count} {count === 1 ? "person" : "people"} here
    </span>
  );
}

function RoomNotices({ room }: { room: string }) {
  const client = useClient();
  const notice = useChat((s) => s.rooms[room]?.notice ?? null);
  const error = useChat((s) => s.rooms[room]?.error ?? null);
  return (
    <>
      {notice && (
        <div className="notice" data-testid="room-notice" role="status">
          <p>{notice}</p>
          <button type="button" className="link-button" onClick={() => client.dismissNotice(room)}>
            Dismiss
          </button>
        </div>
      )}
      {error && (
        <div className="notice notice-error" role="status">
          <p>Not joined: this room is not receiving messages.</p>
          <button type="button" className="link-button" onClick={() => client.rejoin(room)}>
            Try again
          </button>
        </div>
      )}
    </>
  );
}

function EmptyState() {
  const client = useClient();
  return (
    <div className="empty">
      <h1>No room open</h1>
      <p className="muted">Join a room by name, or open a link like /#/room/general.</p>
      <button type="button" className="primary" onClick={() => client.joinRoom("general")}>
        Join #general
      </button>
    </div>
  );
}
