import { Limits } from "@chat/protocol";
import { type FormEvent, useId, useState } from "react";
import { useChat, useClient } from "./context.js";

/** Choose or change the display name; the server's refusal (e.g. name taken) shows right here. */
export function NameForm({ variant }: { variant: "welcome" | "compact" | "inline" }) {
  const client = useClient();
  const current = useChat((s) => s.name);
  // A name refused by a room is explained in that room (see JoinProblem), not in a popover over the page.
  const explainedInRoom = useChat((s) => s.activeRoom !== null && (s.rooms[s.activeRoom]?.error ?? null) !== null);
  const refused = useChat((s) => s.nameError);
  const [typed, setTyped] = useState(false);
  // The inline form sits under its own explanation; typing a new name retires an old refusal.
  const serverError = variant === "inline" || typed || (variant === "compact" && explainedInRoom) ? null : refused;
  const [value, setValue] = useState(current ?? "");
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const errorId = useId();
  const shown = error ?? serverError;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTyped(false);
    setError(client.setName(value));
  };

  return (
    <form className={`name-form ${variant}`} data-testid="name-form" onSubmit={submit} noValidate>
      <label htmlFor={inputId} className={variant === "compact" ? "visually-hidden" : undefined}>
        {variant === "inline" ? "Another name" : "Display name"}
      </label>
      <div className="field-row">
        <input
          id={inputId}
          className={variant === "compact" ? "compact-input" : undefined}
          data-testid="name-input"
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setError(null);
            setTyped(true);
          }}
          maxLength={Limits.nameLength}
          autoComplete="nickname"
          placeholder="Your name"
          // biome-ignore lint/a11y/noAutofocus: the only thing to do on the welcome screen
          autoFocus={variant !== "compact"}
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? errorId : undefined}
        />
        <button type="submit" className={variant === "compact" ? "secondary compact-button" : "primary"}>
          {variant === "welcome" ? "Start chatting" : variant === "inline" ? "Use this name" : "Rename"}
        </button>
      </div>
      {shown && (
        <p
          id={errorId}
          className={variant === "compact" ? "field-error name-popover" : "field-error"}
          data-testid="name-error"
          role="alert"
        >
          {shown}
        </p>
      )}
    </form>
  );
}
