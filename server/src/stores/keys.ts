/**
 * Everything of one room lives in one hash slot, named by the tag `{room:<name>}`: its Redis keys
 * and, because Socket.IO rooms are named by the same tag, the sharded adapter's pub/sub channel
 * (`socket.io#/#{room:<name>}#`). On Redis Cluster a room therefore depends on exactly one
 * shard, its multi-key scripts are legal, and different rooms spread over the shards.
 */
export const roomTag = (room: string) => `{room:${room}}`;

export const roomKeys = (room: string) => {
  const tag = `chat:${roomTag(room)}`;
  return {
    seq: `${tag}:seq`,
    log: `${tag}:log`,
    presence: `${tag}:presence`,
    /** seq -> current state of each edited or deleted message (a deleted one keeps no text). */
    revised: `${tag}:rev`,
    presenceUsers: `${tag}:presence:users`,
    presenceNames: `${tag}:presence:names`,
    presenceVersion: `${tag}:presence:version`,
    presenceHolds: `${tag}:presence:holds`,
    /** When and at which version the room's size was last announced (PRESENCE_CLAIM_COUNT). */
    presenceCounted: `${tag}:presence:counted`,
    clientId: (authorId: string, clientId: string) => `${tag}:cid:${authorId}:${clientId}`,
  };
};

/**
 * The room directory behind `rooms:list`: two small sorted sets (room -> epoch ms of its latest
 * message / of its latest sign of presence) under their own hash tag, so on a cluster they live
 * on one shard and one command reads them. Bounded (see ROOM_DIRECTORY_MAX).
 */
export const directoryKeys = {
  messages: "chat:{rooms}:messages",
  seen: "chat:{rooms}:seen",
} as const;
