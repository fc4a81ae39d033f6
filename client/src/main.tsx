import {
  ChatClient,
  type KeyValueStorage,
  MemoryStorage,
  type NetworkMonitor,
  socketIoFactory,
} from "@chat/client-core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./ui/App.js";
import { ClientContext } from "./ui/context.js";
import "./styles.css";

function browserStorage(): KeyValueStorage {
  try {
    const probe = "chat.probe";
    window.localStorage.setItem(probe, probe);
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch {
    return new MemoryStorage(); // storage disabled: the chat works, nothing survives a reload
  }
}

const network: NetworkMonitor = {
  isOnline: () => navigator.onLine,
  subscribe(onChange) {
    window.addEventListener("online", onChange);
    window.addEventListener("offline", onChange);
    return () => {
      window.removeEventListener("online", onChange);
      window.removeEventListener("offline", onChange);
    };
  },
};

const client = new ChatClient({
  // VITE_CHAT_URL points the client at another origin; by default it talks to the page's own.
  createSocket: socketIoFactory({ url: import.meta.env.VITE_CHAT_URL || undefined }),
  storage: browserStorage(),
  network,
  // A refused transition is a client bug: report it, but never break a live connection over it.
  onIllegalTransition: (error) => console.error(error),
});
client.start();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <ClientContext value={client}>
      <App />
    </ClientContext>
  </StrictMode>,
);

// Vite HMR replaces modules, not this one's side effects: close the old client's sockets.
import.meta.hot?.dispose(() => client.stop());
