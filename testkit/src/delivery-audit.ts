import type { ChatMessage } from "@chat/protocol";

/** What the audit reads from a bot (ChatBot fits). */
export interface AuditedClient {
  readonly rooms: readonly string[];
  readonly known: ReadonlyMap<string, ReadonlyMap<number, ChatMessage>>;
  readonly acked: readonly ChatMessage[];
  readonly deliveries: ReadonlyMap<string, number>;
  readonly session?: { user: { name: string } } | undefined;
}

export interface DeliveryAudit {
  /** Acknowledged sends, all clients together. */
  acked: number;
  /**
   * Per member of a room: a seq up to the room's highest acknowledged one that it never got,
   * or an acknowledged message that is not at its seq.
   */
  lost: string[];
  /** clientIds stored under more than one seq (a retry stored again). */
  storedTwice: string[];
  /** Broadcasts that reached a client more than once (the client dedupes them; for interest). */
  duplicateDeliveries: number;
}

/**
 * "Nothing lost, nothing stored twice", counted one way for every run: acks mean "stored",
 * every member of a room must hold the room's whole transcript up to the last ack, gapless,
 * and a clientId may appear at one seq only.
 */
export function auditDelivery(clients: readonly AuditedClient[]): DeliveryAudit {
  const acked = clients.flatMap((c) => c.acked);
  const top = new Map<string, number>();
  for (const m of acked) top.set(m.room, Math.max(top.get(m.room) ?? 0, m.seq));
  const lost: string[] = [];
  const seqsByClientId = new Map<string, Set<number>>();
  for (const [i, c] of clients.entries()) {
    const who = c.session?.user.name ?? `client ${i}`;
    for (const room of c.rooms) {
      const known = c.known.get(room) ?? new Map<number, ChatMessage>();
      const last = top.get(room) ?? 0;
      for (let seq = 1; seq <= last; seq++) if (!known.has(seq)) lost.push(`${who} lacks ${room}:${seq}`);
      for (const m of acked) {
        const held = m.room === room ? known.get(m.seq) : undefined;
        if (held && held.clientId !== m.clientId) lost.push(`${who}: acked ${m.id} (${m.clientId}) not at its seq`);
      }
      for (const m of known.values()) {
        const key = `${room}\u0000${m.clientId}`;
        seqsByClientId.set(key, (seqsByClientId.get(key) ?? new Set()).add(m.seq));
      }
    }
  }
  const storedTwice = [...seqsByClientId]
    .filter(([, seqs]) => seqs.size > 1)
    .map(([key, seqs]) => `${key.replace("\u0000", ": clientId ")} at seqs ${[...seqs].join(", ")}`);
  let duplicateDeliveries = 0;
  for (const c of clients) for (const n of c.deliveries.values()) duplicateDeliveries += Math.max(0, n - 1);
  return { acked: acked.length, lost, storedTwice, duplicateDeliveries };
}
