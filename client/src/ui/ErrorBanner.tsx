import { useChat, useClient } from "./context.js";

/**
 * Errors not tied to a message, a form field or a room. A failed join is explained in its room
 * (JoinProblem) and goes away with it, so it is not repeated here, where it would outlive its cause.
 */
export function ErrorBanner() {
  const client = useClient();
  const error = useChat((s) => s.error);
  if (!error || error.startsWith("Could not join #")) return null;
  return (
    <div className="error-banner" data-testid="error-banner" role="alert">
      <p>{error}</p>
      <button type="button" className="link-button" onClick={() => client.dismissError()}>
        Dismiss
      </button>
    </div>
  );
}
