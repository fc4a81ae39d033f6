import { totalDisconnectedMs } from "@chat/client-core";
import { useEffect, useState } from "react";
import { useChat } from "./context.js";

/**
 * The truth about the connection, for people (text) and for end-to-end tests (data attributes:
 * data-state, data-pod, data-disconnected-ms, data-connections).
 */
export function ConnectionStatus() {
  const status = useChat((s) => s.status);
  const pod = useChat((s) => s.pod);
  const detail = useChat((s) => s.statusDetail);
  const connections = useChat((s) => s.connections);
  const handingOver = useChat((s) => s.handingOver);
  const disconnectedMs = useChat((s) => s.disconnectedMs);
  const disconnectedSince = useChat((s) => s.disconnectedSince);
  const now = useNow(disconnectedSince !== null);
  const total = totalDisconnectedMs({ disconnectedMs, disconnectedSince }, now);

  let label: string;
  // Derived from the state machine's handing-over state: the pod drains, a new socket takes over.
  if (handingOver) label = "Moving to another server…";
  else if (status === "connected") label = pod ? `Connected · pod ${pod}` : "Connected";
  else if (status === "reconnecting") label = connections === 0 ? "Connecting…" : "Reconnecting…";
  else label = "Offline";

  return (
    <div
      className={`status status-${status}`}
      data-testid="connection-status"
      data-state={status}
      data-pod={pod ?? ""}
      data-disconnected-ms={Math.round(total)}
      data-connections={connections}
      data-handover={handingOver ? "true" : "false"}
      role="status"
      title={detail ?? (handingOver ? "Moving to another server…" : undefined)}
    >
      <span className="status-dot" aria-hidden="true" />
      <span className="status-text">{label}</span>
      {detail && status !== "connected" && <span className="status-detail">{detail}</span>}
    </div>
  );
}

/** The current time, ticking once a second while `active`, so an ongoing outage counts up. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}
