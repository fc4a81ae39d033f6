import { Limits } from "@chat/protocol";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { useChat, useClient } from "./context.js";
import { RoomBrowser } from "./RoomBrowser.js";

/** Joined rooms as tabs (links to #/room/<name>, so they can be shared) and the form to join another. */
export function RoomList() {
  const roomOrder = useChat((s) => s.roomOrder);
  return (
    <nav className="rooms" aria-label="Rooms">
      <h2 className="rooms-title">Rooms</h2>
      <ul className="room-tabs">
        {roomOrder.map((room) => (
          <RoomTab key={room} room={room} />
        ))}
      </ul>
      <JoinForm />
      <RoomBrowser />
    </nav>
  );
}

function RoomTab({ room }: { room: string }) {
  const client = useClient();
  const active = useChat((s) => s.activeRoom === room);
  const unread = useChat((s) => s.rooms[room]?.unread ?? 0);
  return (
    <li className={`room-tab${active ? " active" : ""}`}>
      <a
        href={`#/room/${encodeURIComponent(room)}`}
        data-testid="room-tab"
        data-room={room}
        aria-current={active ? "page" : undefined}
        onClick={(e) => {
          // Open the room right away; the hash change that follows is then a no-op.
          e.preventDefault();
          client.openRoom(room);
        }}
      >
        <span className="room-hash" aria-hidden="true">
          #
        </span>
        <span className="room-name">{room}</span>
        {unread > 0 && (
          <>
            <span className="badge" data-testid="unread-count" aria-hidden="true">
              {unread}
            </span>
            <span className="visually-hidden">({unread} unread)</span>
          </>
        )}
      </a>
      <button
        type="button"
        className="icon-button leave"
        aria-label={`Leave #${room}`}
        onClick={() => client.leaveRoom(room)}
      >
        <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
          <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
      </button>
    </li>
  );
}

function JoinForm() {
  const client = useClient();
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);
  const noRoom = useChat((s) => s.activeRoom === null);

  // Just named, nothing open: joining a room is the next step (a pending room focuses its composer instead).
  useEffect(() => {
    if (noRoom && (!document.activeElement || document.activeElement === document.body)) input.current?.focus();
  }, [noRoom]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = client.joinRoom(value);
    setError(problem);
    if (!problem) setValue("");
  };

  return (
    <form className="join-form" data-testid="join-form" data-focus-handoff onSubmit={submit} noValidate>
      <label htmlFor={inputId} className="join-label">
        Join a room
      </label>
      <div className="field-row">
        <input
          ref={input}
          id={inputId}
          className="join-input"
          data-testid="room-input"
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setError(null);
          }}
          placeholder="e.g. general"
          maxLength={Limits.roomLength + 1}
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        <button type="submit" className="secondary join-button">
          Join
        </button>
      </div>
      {error && (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
