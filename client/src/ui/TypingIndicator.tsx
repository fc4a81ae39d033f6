import { useChat } from "./context.js";

/** "Bob is typing…"; its slot keeps its height when empty, so nothing jumps. */
export function TypingIndicator({ room }: { room: string }) {
  const typing = useChat((s) => s.rooms[room]?.typing);
  const names = (typing ?? []).map((t) => t.user.name);
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  return (
    <div className="typing-slot" aria-live="polite">
      {text && (
        <p className="typing" data-testid="typing-indicator">
          <span className="typing-dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          {text}
        </p>
      )}
    </div>
  );
}
