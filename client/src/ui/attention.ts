import type { ChatState } from "@chat/client-core";
import { useEffect, useState } from "react";
import { useChat, useClient } from "./context.js";
import { mentionsName } from "./rich-text.js";

const canNotify = () => typeof Notification !== "undefined";

/**
 * The tab title and browser notifications. The title counts unread messages of other rooms and,
 * while the tab is hidden, every new message ("@" when one mentions you). A notification is
 * raised for a message that mentions you, or for any message while the tab is hidden, only if
 * the person has allowed notifications.
 */
export function useAttention(): void {
  const client = useClient();
  const activeRoom = useChat((s) => s.activeRoom);
  const unread = useChat((s) => Object.values(s.rooms).reduce((n, r) => n + r.unread, 0));
  const [hidden, setHidden] = useState({ count: 0, mentioned: false });

  useEffect(() => {
    const onVisibility = () => {
      if (document.visibilityState === "visible") setHidden({ count: 0, mentioned: false });
    };
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, []);

  useEffect(() => {
    let before = client.getState();
    return client.subscribe(() => {
      const now = client.getState();
      const fresh = newMessagesFromOthers(before, now);
      before = now;
      if (fresh.length === 0) return;
      const me = now.user?.name ?? now.name ?? "";
      const isHidden = document.visibilityState === "hidden";
      let mentioned = false;
      for (const m of fresh) {
        const mentionsMe = me !== "" && mentionsName(m.text, me);
        mentioned ||= mentionsMe;
        if ((mentionsMe || isHidden) && canNotify() && Notification.permission === "granted") {
          const n = new Notification(`${m.author.name} in #${m.room}`, { body: m.text.slice(0, 160), tag: m.id });
          n.onclick = () => {
            window.focus();
            client.openRoom(m.room);
            n.close();
          };
        }
      }
      if (isHidden) setHidden((h) => ({ count: h.count + fresh.length, mentioned: h.mentioned || mentioned }));
    });
  }, [client]);

  useEffect(() => {
    const base = activeRoom ? `#${activeRoom} · Chat` : "Chat";
    const count = unread + hidden.count;
    document.title = `${hidden.mentioned ? "@ " : ""}${count > 0 ? `(${count}) ` : ""}${base}`;
  }, [activeRoom, unread, hidden]);
}

/** Messages of others that arrived live since `before` (a room's first history load does not count). */
function newMessagesFromOthers(before: ChatState, now: ChatState) {
  if (before.rooms === now.rooms) return [];
  const me = now.user?.id;
  const fresh = [];
  for (const [name, room] of Object.entries(now.rooms)) {
    const old = before.rooms[name];
    if (!old?.loaded || old.messages === room.messages) continue;
    const seen = old.messages[old.messages.length - 1]?.seq ?? old.contiguous;
    for (const m of room.messages) if (m.seq > seen && m.author.id !== me && !m.deleted) fresh.push(m);
  }
  return fresh;
}

/** Offer notifications once, on a click (browsers ignore requests without one). */
export function useNotificationPermission(): { ask: (() => void) | null } {
  const [permission, setPermission] = useState(() => (canNotify() ? Notification.permission : "denied"));
  if (permission !== "default") return { ask: null };
  return {
    ask: () => {
      void Notification.requestPermission().then(setPermission);
    },
  };
}
