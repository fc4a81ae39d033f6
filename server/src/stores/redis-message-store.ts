import type { ChatMessage } from "@chat/protocol";
import { roomKeys } from "./keys.js";
import { NO_REPLICA_ACK, type RedisClient, type ReplicaAck, script, writeScript } from "./redis-script.js";
import { APPEND, HISTORY } from "./redis-scripts.js";
import type { AppendInput, AppendResult, HistoryResult, MessageStore, StoreLimits } from "./types.js";

type StreamEntry = [id: string, fields: string[]];

const parseEntry = ([, fields]: StreamEntry): ChatMessage => JSON.parse(fields[1] ?? "null") as ChatMessage;

/**
 * Room history in a Redis Stream per room; seq from INCR, entry id `<seq>-0`, idempotency keys with a
 * TTL. All of a room's keys expire ROOM_IDLE_TTL_MS after its last message.
 * Writes go through writeScript: with `replicaAck`, a write (a retry's too) returns only once
 * enough replicas hold it, so what a sender sees acknowledged survives a failover.
 */
export class RedisMessageStore implements MessageStore {
  private readonly appendScript;
  private readonly historyScript;

  constructor(
    redis: RedisClient,
    private readonly limits: Pick<StoreLimits, "historyLimit" | "historyPage" | "idempotencyTtlMs" | "roomIdleTtlMs">,
    replicaAck: ReplicaAck = NO_REPLICA_ACK,
  ) {
    this.appendScript = writeScript<[number, string]>(redis, APPEND, 3, replicaAck);
    this.historyScript = script<[number, number, StreamEntry[]]>(redis, HISTORY, 2);
  }

  async append({ room, author, text, clientId }: AppendInput): Promise<AppendResult> {
    const k = roomKeys(room);
    const [stored, json] = await this.appendScript(
      [k.seq, k.log, k.clientId(author.id, clientId)],
      [
        room,
        author.id,
        author.name,
        text,
        clientId,
        this.limits.historyLimit,
        Math.min(this.limits.idempotencyTtlMs, this.limits.roomIdleTtlMs),
        this.limits.roomIdleTtlMs,
      ],
    );
    return { message: JSON.parse(json) as ChatMessage, duplicate: stored === 0 };
  }

  async history(room: string, since?: number): Promise<HistoryResult> {
    const k = roomKeys(room);
    const [cursor, trimmed, entries] = await this.historyScript(
      [k.seq, k.log],
      [since ?? -1, this.limits.historyPage, this.limits.historyLimit],
    );
    const messages = entries.map(parseEntry);
    // A page comes newest first from XREVRANGE.
    if (since === undefined || trimmed === 1) messages.reverse();
    return { messages, cursor, trimmed: trimmed === 1 };
  }
}
