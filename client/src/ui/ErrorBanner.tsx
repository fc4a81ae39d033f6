import { useChat, useClient } from "./context.js";

/** Errors not tied to a message or a form field, e.g. a room the server would not let us join. */
export function ErrorBanner() {
  const client = useClient();
  const error = useChat((s) => s.error);
  if (!error) return null;
  return (
    <div className="error-banner" data-testid="error-banner" role="alert">
      <p>{error}</p>
      <button type="button" className="link-button" onClick={() => client.dismissError()}>
        Dismiss
      </button>
    </div>
  );
}
