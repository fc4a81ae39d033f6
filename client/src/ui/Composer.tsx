import { Limits } from "@chat/protocol";
import { type FormEvent, type KeyboardEvent, useId, useLayoutEffect, useRef, useState } from "react";
import { useClient } from "./context.js";

/** Unsent drafts per room, kept while switching rooms. */
const drafts = new Map<string, string>();

/** Enter sends, Shift+Enter starts a new line. Sending works offline too: the message waits in the outbox. */
export function Composer({ room }: { room: string }) {
  const client = useClient();
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

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const problem = client.send(room, text);
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

  const remaining = Limits.textLength - text.length;
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
        maxLength={Limits.textLength}
        aria-describedby={error ? errorId : undefined}
        aria-invalid={error ? true : undefined}
        enterKeyHint="send"
      />
      <button
        type="submit"
        className="primary send"
        data-testid="send-button"
        aria-label="Send"
        disabled={!text.trim()}
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
        {remaining < 200 && <p className="muted counter">{remaining} characters left</p>}
      </div>
    </form>
  );
}
