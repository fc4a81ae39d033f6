import type { ChatState, RoomState } from "./state.js";

/** The client's state: an immutable snapshot, replaced on every change (fits useSyncExternalStore). */
export class Store {
  private current: ChatState;
  private readonly listeners = new Set<() => void>();

  constructor(initial: ChatState) {
    this.current = initial;
  }

  get state(): ChatState {
    return this.current;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): ChatState => this.current;

  update(patch: Partial<ChatState>): void {
    this.current = { ...this.current, ...patch };
    for (const listener of this.listeners) listener();
  }

  updateRoom(name: string, patch: Partial<RoomState>): void {
    const room = this.current.rooms[name];
    if (!room) return;
    this.update({ rooms: { ...this.current.rooms, [name]: { ...room, ...patch } } });
  }
}
