import type { ChatMessage } from "@chat/protocol";
import { roomKeys } from "./keys.js";
import { NO_REPLICA_ACK, type RedisClient, type ReplicaAck, script, writeScript } from "./redis-script.js";
import { APPEND, HISTORY, PAGE, REVISE } from "./redis-scripts.js";
import type {
  AppendInput,
  AppendResult,
  HistoryPageResult,
  HistoryResult,
  MessageStore,
  ReviseInput,
  ReviseResult,
  StoreLimits,
} from "./types.js";

const parse = (json: string) => JSON.parse(json) as ChatMessage;
const bySeq = (a: ChatMessage, b: ChatMessage) => a.seq - b.seq;
const REFUSED = { [-1]: "not_found", [-2]: "forbidden", [-3]: "deleted" } as const;

/**
 * Room history in a Redis Stream per room; seq from INCR, entry id `<seq>-0`, idempotency keys
 * with a TTL. Edits and deletions are stream entries too (see redis-scripts.ts, READ). All of a
 * room's keys expire ROOM_IDLE_TTL_MS after its last message. Writes go through writeScript:
 * with `replicaAck`, a write (a retry's too) returns only once enough replicas hold it, so what
 * a sender sees acknowledged survives a failover.
 */
export class RedisMessageStore implements MessageStore {
  private readonly appendScript;
  private readonly historyScript;
  private readonly pageScript;
  private readonly reviseScript;

  constructor(
    private readonly redis: RedisClient,
    private readonly limits: Pick<StoreLimits, "historyLimit" | "historyPage" | "idempotencyTtlMs" | "roomIdleTtlMs">,
    replicaAck: ReplicaAck = NO_REPLICA_ACK,
  ) {
    this.appendScript = writeScript<[number, string]>(redis, APPEND, 4, replicaAck);
    this.historyScript = script<[number, number, string[]]>(redis, HISTORY, 3);
    this.pageScript = script<[number, string[]]>(redis, PAGE, 3);
    this.reviseScript = writeScript<[number, string]>(redis, REVISE, 3, replicaAck);
  }

  async append({ room, author, text, clientId }: AppendInput): Promise<AppendResult> {
    const k = roomKeys(room);
    const [stored, json] = await this.appendScript(
      [k.seq, k.log, k.clientId(author.id, clientId), k.revised],
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
    if (stored !== 0) return { message: parse(json), duplicate: false };
    // A retry of a message edited or deleted since gets its current state (never the old text).
    const original = parse(json);
    const revised = await this.redis.hget(k.revised, String(original.seq));
    return { message: revised ? parse(revised) : original, duplicate: true };
  }

  async revise({ room, seq, userId, text }: ReviseInput): Promise<ReviseResult> {
    const k = roomKeys(room);
    const [status, json] = await this.reviseScript(
      [k.seq, k.log, k.revised],
      [seq, userId, text ?? "", text === null ? "delete" : "edit", this.limits.historyLimit],
    );
    if (status >= 0) return { ok: true, message: parse(json), changed: status === 1 };
    return { ok: false, reason: REFUSED[status as -1 | -2 | -3] };
  }

  async history(room: string, since?: number): Promise<HistoryResult> {
    const k = roomKeys(room);
    const [cursor, trimmed, entries] = await this.historyScript(
      [k.seq, k.log, k.revised],
      [since ?? -1, this.limits.historyPage, this.limits.historyLimit],
    );
    return { messages: entries.map(parse).sort(bySeq), cursor, trimmed: trimmed === 1 };
  }

  async page(room: string, before: number, limit: number): Promise<HistoryPageResult> {
    if (before <= 1) return { messages: [], hasMore: false };
    const k = roomKeys(room);
    const [more, entries] = await this.pageScript([k.seq, k.log, k.revised], [before, limit]);
    return { messages: entries.map(parse), hasMore: more === 1 };
  }
}
