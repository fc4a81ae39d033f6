import { type FormEvent, type KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import { useChat, useClient } from "./context.js";

/** The counter appears this close to the limit. */
const COUNTER_FROM = 200;

/** Unsent drafts per room, kept while switching rooms. */
const drafts = new Map<string, string>();

/** Enter sends, Shift+Enter starts a new line. Sending works offline too: the message waits in the outbox. */
export function Composer({ room }: { room: string }) {
  const client = useClient();
  // The server's limit (MAX_TEXT_LENGTH) from the session; the protocol's own before one answers.
  const maxTextLength = useChat((s) => s.limits.maxTextLength);
  const [text, setText] = useState(() => drafts.get(room) ?? "");
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const inputId = useId();
  const errorId = useId();

  // Grow with the text up to a few lines (CSS caps the height), shrink back after sending.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the height is re-measured whenever the text changes
  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const change = (value: string) => {
    setText(value);
    drafts.set(room, value);
    setError(null);
    client.composerChanged(room, value);
  };

  // A room just opened (from the join field, a link, the welcome screen): writing is next.
  useEffect(() => {
    const active = document.activeElement;
    if (!active || active === document.body || active.closest("[data-focus-handoff]")) input.current?.focus();
  }, []);

  const over = text.trim().length - maxTextLength;
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (over > 0) {
      // Never sent (the server would refuse it) and never cleared: the text is the user's to shorten.
      setError(`Too long: ${over} ${over === 1 ? "character" : "characters"} over the limit of ${maxTextLength}.`);
      input.current?.focus();
      return;
    }
    const problem = client.send(room, text)?.message ?? null;
    setError(problem);
    if (!problem) change("");
    input.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // isComposing: Enter that confirms an IME composition (Japanese, Chinese, ...) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  const remaining = maxTextLength - text.trim().length;
  const counterId = `${inputId}-counter`;
  const describedBy = [error ? errorId : null, remaining < COUNTER_FROM ? counterId : null].filter(Boolean).join(" ");
  return (
    <form className="composer" onSubmit={submit} noValidate>
      <label htmlFor={inputId} className="visually-hidden">
        Message #{room}
      </label>
      <textarea
        ref={input}
        id={inputId}
        data-testid="composer-input"
        rows={1}
        value={text}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder={room.length <= 20 ? `Message #${room}` : "Write a message…"}
        aria-describedby={describedBy || undefined}
        aria-invalid={error || over > 0 ? true : undefined}
        enterKeyHint="send"
      />
      <button
        type="submit"
        className="primary send"
        data-testid="send-button"
        aria-label="Send"
        disabled={!text.trim() || over > 0}
      >
        <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
          <path
            d="M3.4 9.2 16 3.6c.6-.3 1.2.3.9.9l-5.6 12.6c-.3.6-1.1.6-1.3 0l-1.6-4.6-4.6-1.6c-.6-.2-.6-1 0-1.3Z"
            fill="currentColor"
          />
        </svg>
      </button>
      <div className="composer-foot">
        {error && (
          <p id={errorId} className="field-error composer-error" data-testid="composer-error" role="alert">
            {error}
          </p>
        )}
        {remaining < COUNTER_FROM && (
          <p
            id={counterId}
            className={over > 0 ? "counter counter-over" : "muted counter"}
            data-testid="composer-counter"
          >
            {over > 0 ? `${over} over the limit of ${maxTextLength}` : `${remaining} characters left`}
          </p>
        )}
      </div>
    </form>
  );
}
