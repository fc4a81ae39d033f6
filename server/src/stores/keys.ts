/**
 * Redis keys. Every key of one room carries the hash tag `{room:<name>}`, so the room's
 * multi-key scripts touch one hash slot and run unchanged on Redis Cluster, while different
 * rooms spread over the slots.
 */
export const roomKeys = (room: string) => {
  const tag = `chat:{room:${room}}`;
  return {
    seq: `${tag}:seq`,
    log: `${tag}:log`,
    presence: `${tag}:presence`,
    clientId: (authorId: string, clientId: string) => `${tag}:cid:${authorId}:${clientId}`,
  };
};
