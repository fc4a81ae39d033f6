import { Composer } from "./Composer.js";
import { useChat, useClient } from "./context.js";
import { ErrorBanner } from "./ErrorBanner.js";
import { MessageList } from "./MessageList.js";
import { NameForm } from "./NameForm.js";
import { formatCount, PresenceList } from "./PresenceList.js";
import { ActiveRooms } from "./RoomBrowser.js";
import { TypingIndicator } from "./TypingIndicator.js";

/** The open room: history, live messages, who is here, who is typing, and the composer. */
export function RoomView() {
  const room = useChat((s) => s.activeRoom);
  const blocked = useChat((s) => (s.activeRoom ? (s.rooms[s.activeRoom]?.error ?? null) : null));

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
          {blocked ? <span className="muted presence-count">Not joined</span> : <PresenceCount room={room} />}
        </header>
        {blocked ? (
          // One state, one explanation: no history spinner, no composer, no people list behind it.
          <JoinProblem room={room} error={blocked} key={`problem:${room}`} />
        ) : (
          <>
            <RoomNotices room={room} />
            <MessageList room={room} key={`messages:${room}`} />
            <TypingIndicator room={room} />
            <Composer room={room} key={`composer:${room}`} />
          </>
        )}
      </main>
      {blocked ? <aside className="people" aria-label="People" /> : <PresenceList room={room} />}
    </>
  );
}

function PresenceCount({ room }: { room: string }) {
  // A large room holds only some of its members: its count comes from the server.
  const count = useChat((s) => {
    const r = s.rooms[room];
    return (r?.presencePartial ? r.presenceCount : r?.presence.length) ?? 0;
  });
  return (
    <span className="muted presence-count">
      {formatCount(count)} {count === 1 ? "person" : "people"} here
    </span>
  );
}

/** Why the room is not joined, and the way out: another name (name taken) or another try. */
function JoinProblem({ room, error }: { room: string; error: string }) {
  const client = useClient();
  const nameTaken = useChat((s) => s.nameError !== null);
  const name = useChat((s) => s.user?.name ?? s.name ?? "");
  return (
    <section className="join-problem" data-testid="join-problem" aria-labelledby="join-problem-title">
      <h2 id="join-problem-title">
        {nameTaken ? `The name “${name}” is taken in #${room}` : `Could not join #${room}`}
      </h2>
      <p className="muted">
        {nameTaken
          ? "Someone here already uses it. Pick another name to join; your other rooms keep working."
          : error.replace(/^Could not join #[^:]+: /, "")}
      </p>
      {nameTaken ? (
        <NameForm variant="inline" key={name} />
      ) : (
        <button type="button" className="primary" onClick={() => client.rejoin(room)}>
          Try again
        </button>
      )}
    </section>
  );
}

function RoomNotices({ room }: { room: string }) {
  const notice = useChat((s) => s.rooms[room]?.notice ?? null);
  const client = useClient();
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
    </>
  );
}

function EmptyState() {
  const client = useClient();
  return (
    <div className="empty">
      <h1>No room open</h1>
      <p className="muted">Join a room by name, pick an active one, or open a link like /#/room/general.</p>
      <button type="button" className="primary" data-focus-handoff onClick={() => client.joinRoom("general")}>
        Join #general
      </button>
      <ActiveRooms />
    </div>
  );
}
