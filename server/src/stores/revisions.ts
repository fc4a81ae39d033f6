import type { ChatMessage } from "@chat/protocol";

/**
 * A message's next state: an edit (new text) or a deletion (null: the text is dropped, not
 * hidden). `rev` is the revision's own seq. The Redis script REVISE builds the same shape.
 */
export function applyRevision(current: ChatMessage, rev: number, text: string | null, now: number): ChatMessage {
  if (text === null) {
    const { editedAt: _edited, ...rest } = current;
    return { ...rest, text: "", deleted: true, rev };
  }
  return { ...current, text, editedAt: now, rev };
}
