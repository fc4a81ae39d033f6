import type { ChatClient, ChatState } from "@chat/client-core";
import { createContext, useContext, useSyncExternalStore } from "react";

export const ClientContext = createContext<ChatClient | null>(null);

export function useClient(): ChatClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useClient needs a <ClientContext> provider");
  return client;
}

/**
 * Subscribe to a slice of the chat state. The selector must return something already in the
 * state (or a primitive): the state is immutable, so unchanged slices keep their identity and
 * the component does not re-render.
 */
export function useChat<T>(select: (state: ChatState) => T): T {
  const client = useClient();
  return useSyncExternalStore(client.subscribe, () => select(client.getState()));
}
