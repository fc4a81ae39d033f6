import { Limits } from "@chat/protocol";
import { type FormEvent, useId, useState } from "react";
import { useChat, useClient } from "./context.js";

/** Choose or change the display name; the server's refusal (e.g. name taken) shows right here. */
export function NameForm({ variant }: { variant: "welcome" | "compact" }) {
  const client = useClient();
  const current = useChat((s) => s.name);
  const serverError = useChat((s) => s.nameError);
  const [value, setValue] = useState(current ?? "");
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const errorId = useId();
  const shown = error ?? serverError;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(client.setName(value));
  };

  return (
    <form className={`name-form ${variant}`} data-testid="name-form" onSubmit={submit} noValidate>
      <label htmlFor={inputId} className={variant === "compact" ? "visually-hidden" : undefined}>
        Display name
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
          }}
          maxLength={Limits.nameLength}
          autoComplete="nickname"
          placeholder="Your name"
          // biome-ignore lint/a11y/noAutofocus: the only thing to do on the welcome screen
          autoFocus={variant === "welcome"}
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? errorId : undefined}
        />
        <button type="submit" className={variant === "welcome" ? "primary" : "secondary compact-button"}>
          {variant === "welcome" ? "Start chatting" : "Rename"}
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
