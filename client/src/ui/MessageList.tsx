import { type FeedItem, roomFeed } from "@chat/client-core";
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useChat, useClient } from "./context.js";
import { Avatar } from "./PresenceList.js";

/** How close to the bottom (px) still counts as "at the bottom" for auto-scrolling. */
const STICK_PX = 48;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/**
 * Messages in seq order, then our queued ones. Follows new messages only while the reader is at
 * the bottom; someone reading older messages keeps their place (and gets a "new messages" button).
 */
export function MessageList({ room }: { room: string }) {
  const messages = useChat((s) => s.rooms[room]?.messages);
  const loaded = useChat((s) => s.rooms[room]?.loaded ?? false);
  const outbox = useChat((s) => s.outbox);
  const userId = useChat((s) => s.user?.id ?? "");
  const name = useChat((s) => s.user?.name ?? s.name ?? "");
  const items = useMemo(
    () => roomFeed({ name: room, messages: messages ?? [] }, outbox, { id: userId, name }),
    [room, messages, outbox, userId, name],
  );

  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const lastKey = useRef<string | null>(null);
  const [newBelow, setNewBelow] = useState(false);

  const scrollToBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setNewBelow(false);
  }, []);

  // Before paint, so a new message never flashes at the wrong scroll position.
  useLayoutEffect(() => {
    const last = items[items.length - 1];
    const appended = last !== undefined && last.key !== lastKey.current;
    lastKey.current = last?.key ?? null;
    const mineJustWritten = appended && last.status === "pending" && last.author.id === userId;
    if (atBottom.current || mineJustWritten) scrollToBottom();
    else if (appended) setNewBelow(true);
  }, [items, userId, scrollToBottom]);

  // The list shrinks when the composer grows or the keyboard opens: stay pinned to the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    if (atBottom.current) setNewBelow(false);
  };

  return (
    <div className="messages-wrap">
      <div
        ref={scroller}
        className="messages"
        data-testid="message-list"
        role="log"
        aria-label={`Messages in #${room}`}
        aria-busy={!loaded}
        onScroll={onScroll}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
      >
        {loaded && items.length === 0 && <p className="messages-empty muted">No messages yet. Say hello!</p>}
        {!loaded && items.length === 0 && <p className="messages-empty muted">Loading history…</p>}
        <ol className="message-items">
          {items.map((item, i) => (
            <MessageRow
              key={item.key}
              item={item}
              own={item.author.id === userId && userId !== ""}
              continued={continues(items[i - 1], item)}
            />
          ))}
        </ol>
      </div>
      {newBelow && (
        <button type="button" className="new-below" onClick={scrollToBottom}>
          New messages ↓
        </button>
      )}
    </div>
  );
}

/** Same author within a few minutes: drawn closer to the message before. */
function continues(previous: FeedItem | undefined, item: FeedItem): boolean {
  return previous !== undefined && previous.author.id === item.author.id && item.ts - previous.ts < 5 * 60_000;
}

const MessageRow = memo(
  function MessageRow({ item, own, continued }: { item: FeedItem; own: boolean; continued: boolean }) {
    const client = useClient();
    const date = new Date(item.ts);
    return (
      <li
        className={`message${own ? " own" : ""}${continued ? " continued" : ""} status-${item.status}`}
        data-testid="message"
        data-seq={item.seq ?? ""}
        data-client-id={item.clientId}
        data-status={item.status}
        data-author-id={item.author.id}
      >
        {!own && (continued ? <span className="avatar-spacer" /> : <Avatar name={item.author.name} />)}
        <div className="bubble">
          <div className="meta">
            <span className="author" data-testid="message-author">
              {item.author.name}
            </span>
            <time data-testid="message-time" dateTime={date.toISOString()} title={fullFormat.format(date)}>
              {timeFormat.format(date)}
            </time>
            {own && <StatusMark status={item.status} />}
          </div>
          {/* Plain text: React escapes it; line breaks are kept by CSS (white-space: pre-wrap). */}
          <p className="text" data-testid="message-text">
            {item.text}
          </p>
          {item.status === "pending" && item.error && <p className="note">{item.error}</p>}
          {item.status === "failed" && (
            <div className="failure">
              <p data-testid="message-error" role="alert">
                {item.error ?? "Not sent."}
              </p>
              <button type="button" className="link-button" onClick={() => client.retry(item.clientId)}>
                Retry
              </button>
              <button type="button" className="link-button" onClick={() => client.discard(item.clientId)}>
                Discard
              </button>
            </div>
          )}
        </div>
      </li>
    );
  },
  (a, b) =>
    a.own === b.own &&
    a.continued === b.continued &&
    a.item.key === b.item.key &&
    a.item.seq === b.item.seq &&
    a.item.status === b.item.status &&
    a.item.error === b.item.error &&
    a.item.text === b.item.text &&
    a.item.ts === b.item.ts &&
    a.item.author.name === b.item.author.name &&
    a.item.author.id === b.item.author.id,
);

function StatusMark({ status }: { status: FeedItem["status"] }) {
  if (status === "sent") {
    return (
      <span className="mark sent" title="Sent">
        <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
        <span className="visually-hidden">Sent</span>
      </span>
    );
  }
  if (status === "pending") {
    return (
      <span className="mark pending" title="Sending…">
        <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
        </svg>
        <span className="visually-hidden">Sending</span>
      </span>
    );
  }
  return <span className="mark failed">Not sent</span>;
}
