import type { RoomSummary } from "@chat/protocol";
import { useCallback, useEffect, useRef, useState } from "react";
import { useChat, useClient } from "./context.js";

const ago = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function lastActive(ts: number, now = Date.now()): string {
  const minutes = Math.round((ts - now) / 60_000);
  if (minutes > -1) return "active now";
  if (minutes > -60) return `active ${ago.format(minutes, "minute")}`;
  return `active ${ago.format(Math.round(minutes / 60), "hour")}`;
}

type Listing = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; rooms: RoomSummary[] };

/** The server's active rooms (`rooms:list`), reloaded when connected and on demand. */
function useActiveRooms(): [Listing, () => void] {
  const client = useClient();
  const connected = useChat((s) => s.status === "connected" && s.user !== null);
  const [listing, setListing] = useState<Listing>({ state: "loading" });
  const generation = useRef(0);
  const load = useCallback(() => {
    const mine = ++generation.current;
    setListing({ state: "loading" });
    client.listRooms().then(
      (rooms) => mine === generation.current && setListing({ state: "ready", rooms }),
      (err: Error) => mine === generation.current && setListing({ state: "error", message: err.message }),
    );
  }, [client]);
  useEffect(() => {
    if (connected) load();
  }, [connected, load]);
  return [listing, load];
}

/** Active rooms to join, most active first. */
export function ActiveRooms({ onJoined }: { onJoined?: () => void }) {
  const client = useClient();
  const joined = useChat((s) => s.rooms);
  const [listing, reload] = useActiveRooms();
  return (
    <section className="active-rooms" aria-labelledby="active-rooms-title" data-testid="active-rooms">
      <div className="active-rooms-head">
        <h2 id="active-rooms-title">Active rooms</h2>
        <button type="button" className="link-button" onClick={reload}>
          Refresh
        </button>
      </div>
      {listing.state === "loading" && <p className="muted">Looking for rooms…</p>}
      {listing.state === "error" && <p className="muted">Could not load the rooms ({listing.message}).</p>}
      {listing.state === "ready" && listing.rooms.length === 0 && (
        <p className="muted">No active rooms yet: start one.</p>
      )}
      {listing.state === "ready" && listing.rooms.length > 0 && (
        <ul className="active-room-list">
          {listing.rooms.map((r) => (
            <li key={r.room}>
              <button
                type="button"
                className="active-room"
                data-testid="active-room"
                data-room={r.room}
                data-focus-handoff
                onClick={() => {
                  // Close first: the dialog hands focus back to its opener, then the new room's composer takes it.
                  onJoined?.();
                  client.joinRoom(r.room);
                }}
              >
                <span className="active-room-name">
                  <span className="room-hash" aria-hidden="true">
                    #
                  </span>
                  {r.room}
                  {joined[r.room] && <span className="muted"> (joined)</span>}
                </span>
                <span className="muted active-room-meta">
                  {r.members} {r.members === 1 ? "person" : "people"} here
                  {r.lastTs !== undefined && ` · ${lastActive(r.lastTs)}`}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** "Browse rooms": the active rooms in a modal dialog (Escape or Close returns focus). */
export function RoomBrowser() {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const close = () => dialog.current?.close();
  return (
    <>
      <button
        type="button"
        className="secondary browse-button"
        data-testid="browse-rooms"
        data-focus-handoff
        onClick={() => {
          setOpen(true);
          dialog.current?.showModal();
        }}
      >
        Browse rooms
      </button>
      <dialog ref={dialog} className="room-browser" aria-labelledby="room-browser-title" onClose={() => setOpen(false)}>
        <div className="room-browser-head">
          <h2 id="room-browser-title">Browse rooms</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={close}>
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
              <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
            </svg>
          </button>
        </div>
        {open && <ActiveRooms onJoined={close} />}
      </dialog>
    </>
  );
}
