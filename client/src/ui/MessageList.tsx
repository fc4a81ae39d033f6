import { type FeedItem, roomFeed } from "@chat/client-core";
import type { ChatMessage } from "@chat/protocol";
import { type FormEvent, Fragment, memo, useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useChat, useClient } from "./context.js";
import { dayKey, dayLabel } from "./dates.js";
import { Avatar } from "./PresenceList.js";
import { RichText } from "./rich-text.js";

/** How close to the bottom (px) still counts as "at the bottom" for auto-scrolling. */
const STICK_PX = 48;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const NO_NAMES: readonly string[] = [];

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
  const presence = useChat((s) => s.rooms[room]?.presence);
  const blocked = useChat((s) => s.rooms[room]?.error != null);
  const hasMore = useChat((s) => s.rooms[room]?.hasMore ?? false);
  const loadingOlder = useChat((s) => s.rooms[room]?.loadingOlder ?? false);
  const client = useClient();
  // Keyed by the names, not the list: a presence update that changes no name re-renders no row.
  const presentKey = presence?.map((u) => u.name).join("\u0000") ?? "";
  const present = useMemo(() => (presentKey ? presentKey.split("\u0000") : NO_NAMES), [presentKey]);
  // Edits and deletions are not in the timeline items: look them up by seq.
  const bySeq = useMemo(() => new Map((messages ?? []).map((m) => [m.seq, m])), [messages]);
  const items = useMemo(
    () => roomFeed({ name: room, messages: messages ?? [] }, outbox, { id: userId, name }),
    [room, messages, outbox, userId, name],
  );

  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const lastKey = useRef<string | null>(null);
  const firstKey = useRef<string | null>(null);
  /** scrollHeight before an older page went in on top, to keep what the reader looks at in place. */
  const heightBefore = useRef<number | null>(null);
  const [newBelow, setNewBelow] = useState(false);

  const scrollToBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setNewBelow(false);
  }, []);

  // Before paint, so a new message never flashes at the wrong scroll position.
  useLayoutEffect(() => {
    const el = scroller.current;
    const first = items[0]?.key ?? null;
    const prepended = firstKey.current !== null && first !== firstKey.current;
    firstKey.current = first;
    if (el && prepended && heightBefore.current !== null) {
      el.scrollTop += el.scrollHeight - heightBefore.current;
      heightBefore.current = null;
    }
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
    if (el.scrollTop < STICK_PX && hasMore && !loadingOlder) {
      heightBefore.current = el.scrollHeight;
      void client.loadOlder(room);
    }
  };
  const startsAtOne = (messages?.[0]?.seq ?? 1) === 1;

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
        {!loaded && !blocked && items.length === 0 && <p className="messages-empty muted">Loading history…</p>}
        {loaded && hasMore && (
          <p className="history-edge muted" data-testid="history-more">
            {loadingOlder ? "Loading older messages…" : "Scroll up for older messages"}
          </p>
        )}
        {loaded && !hasMore && items.length > 0 && (
          <p className="history-edge muted" data-testid={startsAtOne ? "history-start" : "history-trimmed"}>
            {startsAtOne ? "This is the start of the conversation." : "Older messages are no longer kept."}
          </p>
        )}
        <ol className="message-items">
          {items.map((item, i) => {
            const previous = items[i - 1];
            const newDay = previous === undefined || dayKey(previous.ts) !== dayKey(item.ts);
            return (
              <Fragment key={item.key}>
                {newDay && (
                  <li className="day-separator" data-testid="day-separator">
                    <span>{dayLabel(item.ts)}</span>
                  </li>
                )}
                <MessageRow
                  item={item}
                  stored={item.seq === null ? undefined : bySeq.get(item.seq)}
                  own={item.author.id === userId && userId !== ""}
                  continued={!newDay && continues(previous, item)}
                  present={present}
                  me={name || null}
                />
              </Fragment>
            );
          })}
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

interface RowProps {
  item: FeedItem;
  /** The stored message behind a sent item: its edit and deletion state. */
  stored: ChatMessage | undefined;
  own: boolean;
  /** Same author as the row before, shortly after: name and time are not repeated. */
  continued: boolean;
  present: readonly string[];
  me: string | null;
}

const MessageRow = memo(
  function MessageRow({ item, stored, own, continued, present, me }: RowProps) {
    const client = useClient();
    const date = new Date(item.ts);
    const deleted = stored?.deleted === true;
    const [editing, setEditing] = useState(false);
    const [problem, setProblem] = useState<string | null>(null);
    const canRevise = own && stored !== undefined && !deleted;
    const remove = async () => {
      if (!stored) return;
      const refusal = await client.delete(stored.room, stored.id);
      setProblem(refusal?.message ?? null);
    };
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
          {continued ? (
            // The time stays one hover (or one screen-reader phrase) away.
            own &&
            item.status !== "sent" && (
              <div className="meta">
                <StatusMark status={item.status} />
              </div>
            )
          ) : (
            <div className="meta">
              <span className="author" data-testid="message-author">
                {item.author.name}
              </span>
              <time data-testid="message-time" dateTime={date.toISOString()} title={fullFormat.format(date)}>
                {timeFormat.format(date)}
              </time>
              {own && <StatusMark status={item.status} />}
            </div>
          )}
          {deleted ? (
            <p className="text deleted" data-testid="message-text">
              Message deleted
            </p>
          ) : editing && stored ? (
            <EditForm
              message={stored}
              done={(error) => {
                setProblem(error);
                if (!error) setEditing(false);
              }}
              cancel={() => setEditing(false)}
            />
          ) : (
            // Plain text with links and mentions as elements: React escapes everything; line breaks are kept by CSS.
            <p className="text" data-testid="message-text" title={continued ? fullFormat.format(date) : undefined}>
              <RichText text={stored?.text ?? item.text} present={present} me={me} />
              {stored?.editedAt !== undefined && <span className="edited muted"> (edited)</span>}
            </p>
          )}
          {canRevise && !editing && (
            <div className="message-actions">
              <button type="button" className="link-button" aria-label="Edit" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" className="link-button" aria-label="Delete" onClick={() => void remove()}>
                Delete
              </button>
            </div>
          )}
          {problem && (
            <p className="note" role="alert">
              {problem}
            </p>
          )}
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
    a.stored === b.stored &&
    a.present === b.present &&
    a.me === b.me &&
    a.item.key === b.item.key &&
    a.item.seq === b.item.seq &&
    a.item.status === b.item.status &&
    a.item.error === b.item.error &&
    a.item.text === b.item.text &&
    a.item.ts === b.item.ts &&
    a.item.author.name === b.item.author.name &&
    a.item.author.id === b.item.author.id,
);

/** Inline editing of one of our messages: Enter saves, Escape cancels. */
function EditForm({
  message,
  done,
  cancel,
}: {
  message: ChatMessage;
  done: (error: string | null) => void;
  cancel: () => void;
}) {
  const client = useClient();
  const [text, setText] = useState(message.text);
  const save = async (event?: FormEvent) => {
    event?.preventDefault();
    if (text.trim() === message.text) return cancel();
    const refusal = await client.edit(message.room, message.id, text);
    done(refusal?.message ?? null);
  };
  return (
    <form className="edit-form" onSubmit={(e) => void save(e)}>
      <textarea
        aria-label="Edit message"
        value={text}
        // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") cancel();
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) void save(e);
        }}
      />
      <div className="edit-actions">
        <button type="submit" className="link-button">
          Save
        </button>
        <button type="button" className="link-button" onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

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
